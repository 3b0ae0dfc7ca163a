/**
 * The instruction table's `faults` against what the handlers raise: every form the table lists
 * (group members, the x87 and vector escapes included) is executed from random states, in ring 0
 * and ring 3, with paging off and on, with random prefixes, ModRM bytes, immediates, registers and
 * stack contents, and every exception the instruction itself raises must be one its form lists.
 * Selectors are drawn often from a pool naming the usable descriptors and not-present ones, so that
 * segment loads, far transfers and LLDT/LTR reach their #NP, #SS and #GP checks; CR0's MP, EM, TS and
 * NE, CR4's OSFXSR and OSXMMEXCPT, the x87 control and status words and MXCSR are drawn too, so that
 * the x87 and vector units reach their #NM, #MF, #XM and #UD checks.
 *
 * The table's faults are a static over-approximation: this test cannot show that a listed vector is
 * reachable, only that nothing unlisted is raised. What ttd does not implement (a task gate, IRET to
 * virtual-8086 mode) raises #UD through cpu.unimplemented and is left out.
 */
import { describe, expect, it } from "vitest";
import { StepKind, type CpuObserver, WriteCause } from "../../src/cpu/observer.js";
import { ArrayBytes, ByteCursor, DecodedInstruction, decodeInstruction } from "../../src/cpu/instructions/decode.js";
import { Escape, type InstructionForm } from "../../src/cpu/instructions/table.js";
import { CODE, DATA, GDT, KSTACK_TOP, Rng, USTACK_TOP, createMachine, wr32, type TestMachine } from "./harness.js";
import { SYSTEM_END, hex, prepareMachine, resetState, type FuzzEnv } from "./fuzz-setup.js";
import { writeCr0, writeCr4 } from "../../src/cpu/system.js";
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS } from "../../src/cpu/constants.js";
import { CR4_OSFXSR, CR4_OSXMMEXCPT } from "../../src/cpu/sse/mxcsr.js";
import { FCW_POWER_ON, MXCSR_POWER_ON } from "../../src/cpu/fpu-state.js";
import { tableForms, type TableForm } from "./table-forms.js";

const TRIALS = Number(process.env.FAULT_TRIALS ?? 48);
const ENVS: FuzzEnv[] = [
  { ring3: false, paging: false }, { ring3: false, paging: true }, { ring3: true, paging: false }, { ring3: true, paging: true },
];
const VECTOR_NAMES = ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "9", "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM"];

/**
 * Descriptors beyond the harness's GDT (null, ring-0 code and data, ring-3 code and data, TSS): a
 * not-present data segment, code segment, LDT and TSS, at selectors 0x30, 0x38, 0x40 and 0x48.
 */
const NOT_PRESENT = [
  [0x0000ffff, 0x00cf7200], // data, DPL 3
  [0x0000ffff, 0x00cf7a00], // code, DPL 3
  [0x0000ffff, 0x00000200], // LDT
  [0x00000067, 0x00000900], // 32-bit TSS, available
];
const SELECTORS = [0, 0x08, 0x10, 0x1b, 0x23, 0x28, 0x30, 0x33, 0x38, 0x3b, 0x40, 0x48, 0x13, 0x2b];
const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** A 16-bit value: a selector from the pool half the time. */
function word(rng: Rng): number {
  return rng.below(2) === 0 ? SELECTORS[rng.below(SELECTORS.length)] : rng.next() & 0xffff;
}

/** The first exception the instruction raised (before its delivery), and whether the system area was written. */
class FaultObserver implements CpuObserver {
  vector = -1;
  systemDirty = false;
  onMemoryWrite(_linear: number, physical: number, _size: 1 | 2 | 4, _value: number, cause: WriteCause): void {
    if ((physical >>> 0) < SYSTEM_END && cause !== WriteCause.PageTable && cause !== WriteCause.Descriptor) this.systemDirty = true;
  }
  onEvent(kind: StepKind, _step: number, vector: number): void {
    if (kind === StepKind.Fault && this.vector < 0) this.vector = vector;
  }
  onPortIo(): void {}
}

interface Machine {
  m: TestMachine;
  snapshot: Uint8Array;
  obs: FaultObserver;
}

function machine(env: FuzzEnv): Machine {
  const m = createMachine();
  prepareMachine(m, env);
  NOT_PRESENT.forEach(([lo, hi], i) => {
    wr32(m, GDT + (6 + i) * 8, lo);
    wr32(m, GDT + (6 + i) * 8 + 4, hi);
  });
  // Data the memory operands find: selectors and random words.
  const rng = new Rng(0x5eed);
  for (let a = DATA; a < DATA + 0x10000; a += 2) m.mem.write(a, 2, word(rng));
  const obs = new FaultObserver();
  m.cpu.observer = obs;
  m.cpu.mmu.observer = obs;
  return { m, snapshot: m.mem.u8.slice(0, SYSTEM_END), obs };
}

const decoded = new DecodedInstruction();
const cursor = new ByteCursor();

/** The form the bytes decode to (the group member, or the escape's entry). */
function formOf(bytes: Uint8Array): InstructionForm | null {
  cursor.src = new ArrayBytes(bytes);
  cursor.pos = 0;
  decodeInstruction(cursor, true, decoded);
  return decoded.valid || decoded.form.escape !== Escape.None ? decoded.form : null;
}

/** Random x87/vector availability (CR0, CR4) and exception state (masks, a pending x87 exception). */
function randomUnits(m: TestMachine, rng: Rng): void {
  const { cpu } = m;
  const cr0Bits = [0, CR0_MP, CR0_EM, CR0_TS, CR0_MP | CR0_TS, CR0_NE][rng.below(6)];
  writeCr0(cpu, cpu.cr0 | cr0Bits);
  writeCr4(cpu, [0, CR4_OSFXSR, CR4_OSFXSR | CR4_OSXMMEXCPT][rng.below(3)]);
  const unmasked = rng.below(2) === 0;
  cpu.fpu.fcw = unmasked ? FCW_POWER_ON & ~0x3f : FCW_POWER_ON;
  // A pending x87 exception: an unmasked invalid operation recorded in the status word (ES set).
  cpu.fpu.fsw = unmasked && rng.below(2) === 0 ? 0x81 : 0;
  cpu.fpu.mxcsr = rng.below(2) === 0 ? MXCSR_POWER_ON & ~(0x3f << 7) : MXCSR_POWER_ON;
}

/** Runs `c` TRIALS times in `env`; returns the unlisted vectors raised, with an example each. */
function unlisted(c: TableForm, env: FuzzEnv, mc: Machine, rng: Rng): Map<string, string> {
  const { m, obs } = mc;
  const { cpu } = m;
  const found = new Map<string, string>();
  const code = new Uint8Array(24);
  for (let t = 0; t < TRIALS; t++) {
    if (obs.systemDirty) {
      m.mem.u8.set(mc.snapshot, 0);
      obs.systemDirty = false;
    }
    let n = 0;
    if (rng.below(3) === 0) code[n++] = PREFIXES[rng.below(PREFIXES.length)];
    for (const b of c.opcode) code[n++] = b;
    const modrm = rng.next() & 0xff;
    code[n++] = c.reg >= 0 ? (modrm & 0xc7) | (c.reg << 3) : modrm;
    for (; n < code.length; n += 2) {
      const w = word(rng);
      code[n] = w & 0xff;
      code[n + 1] = w >> 8;
    }
    m.mem.u8.set(code, CODE);
    resetState(m, env, rng);
    for (let r = 0; r < 8; r++) if (r !== 4 && rng.below(4) === 0) cpu.regs[r] = word(rng);
    randomUnits(m, rng);
    const top = env.ring3 ? USTACK_TOP : KSTACK_TOP;
    for (let a = top - 0x200; a < top; a += 2) m.mem.write(a, 2, word(rng));
    cpu.setPendingExceptionState(null);
    obs.vector = -1;
    cpu.step();
    if (obs.vector < 0 || cpu.firstUnimplemented !== null) continue;
    const f = formOf(code);
    if (f === null) continue; // a prefix made it another instruction the table does not know
    if ((f.faults & (1 << obs.vector)) === 0) {
      const key = `${f.mnemonic} ${VECTOR_NAMES[obs.vector] ?? obs.vector}`;
      if (!found.has(key)) found.set(key, `${hex(code.subarray(0, 8))} (${env.ring3 ? "ring 3" : "ring 0"}, paging ${env.paging ? "on" : "off"})`);
    }
  }
  return found;
}

describe("instruction table: faults listed vs raised", () => {
  const all = tableForms();
  const machines = ENVS.map(machine);

  it.each(all)("$name raises only the faults its form lists", (c) => {
    const rng = new Rng(c.opcode.reduce((s, b) => s * 257 + b, 0x9e3779b1 + c.reg) | 1);
    const problems: string[] = [];
    ENVS.forEach((env, i) => {
      for (const [what, example] of unlisted(c, env, machines[i], rng)) problems.push(`${what}: ${example}`);
    });
    expect(problems.join("\n")).toBe("");
  });
});
