/**
 * Shared set-up for the random-code tests (fuzz.test.ts, compiled-vs-interpreted.test.ts): the machine
 * with its system structures, random code, and a fresh random architectural state per sequence. The
 * state is drawn from a caller's Rng, so two machines fed Rngs with the same seed start identically.
 */
import { CpuStop } from "../../src/cpu/cpu.js";
import { writeCr0, writeCr3, writeCr4 } from "../../src/cpu/system.js";
import {
  CODE, CS, DATA, DS, ES, FS, GS, KSTACK_TOP, PAGE_DIR, PAGE_TABLE0, PTE_P, PTE_U, PTE_W, Rng, SS, TSS_SEL, USTACK_TOP, enterRing3,
  forceSegment, handlerAddr, loadTr, setupProtected, type TestMachine,
} from "./harness.js";

export interface FuzzEnv {
  ring3: boolean;
  paging: boolean;
}

/** Random bytes at CODE per sequence. */
export const CODE_BYTES = 48;
/** Physical memory below this holds the system structures (restored from a snapshot when written). */
export const SYSTEM_END = 0x8000;

/**
 * With paging, pages below 64 KiB (descriptor tables, handlers, page tables, kernel stack) are
 * supervisor-only, 0x50000..0x5ffff is not present, and the rest of the first 4 MiB is user-writable.
 */
function buildPageTables(m: TestMachine): void {
  m.mem.u8.fill(0, PAGE_DIR, PAGE_DIR + 0x1000);
  m.mem.write(PAGE_DIR, 4, PAGE_TABLE0 | PTE_P | PTE_W | PTE_U);
  for (let i = 0; i < 1024; i++) {
    const lin = i << 12;
    let e = lin | PTE_P | PTE_W | PTE_U;
    if (lin < 0x10000) e = lin | PTE_P | PTE_W;
    if (lin >= 0x50000 && lin < 0x60000) e = 0;
    m.mem.write(PAGE_TABLE0 + i * 4, 4, e);
  }
}

/** Builds GDT/IDT/TSS/handlers (and page tables); returns the snapshot of the system area. */
export function prepareMachine(m: TestMachine, env: FuzzEnv): Uint8Array {
  setupProtected(m, { ring3: env.ring3 });
  if (env.paging) buildPageTables(m);
  m.cpu.clock = () => m.cpu.steps;
  return m.mem.u8.slice(0, SYSTEM_END);
}

/** Fills `code` with random bytes: a quarter start with 0x0F, an eighth with a prefix. */
export function randomCode(rng: Rng, code: Uint8Array): void {
  for (let i = 0; i < code.length; i++) code[i] = rng.next() & 0xff;
  const shape = rng.below(8);
  if (shape < 2) code[0] = 0x0f;
  else if (shape === 2) code[0] = [0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x26, 0x64, 0x2e][rng.below(8)];
}

/**
 * Puts the CPU in the standard state for `env` with random registers (half of them pointing into
 * mapped data) and random status flags, EIP at CODE. Everything a previous sequence may have changed
 * (control registers, descriptor-table registers, segments, MSRs, halt and stop state) is reset.
 */
export function resetState(m: TestMachine, env: FuzzEnv, rng: Rng): void {
  const { cpu } = m;
  cpu.setCpl(0);
  writeCr4(cpu, 0);
  writeCr0(cpu, 0x11);
  cpu.gdtBase = 0x1000;
  cpu.gdtLimit = 32 * 8 - 1;
  cpu.idtBase = 0x2000;
  cpu.idtLimit = 256 * 8 - 1;
  cpu.ldtSel = 0;
  cpu.ldtBase = 0;
  cpu.ldtLimit = 0;
  loadTr(m, TSS_SEL);
  if (env.paging) {
    writeCr3(cpu, PAGE_DIR);
    writeCr0(cpu, 0x80000011);
  }
  cpu.mmu.flush(false);
  if (env.ring3) enterRing3(m);
  else {
    forceSegment(m, CS, 0x08);
    for (const s of [SS, DS, ES, FS, GS]) forceSegment(m, s, 0x10);
  }
  for (let r = 0; r < 8; r++) cpu.regs[r] = rng.below(2) === 0 ? rng.next() | 0 : DATA + rng.below(0x10000);
  cpu.regs[4] = (env.ring3 ? USTACK_TOP : KSTACK_TOP) - 4 * rng.below(64);
  // Random status flags and DF; IOPL 3 now and then so I/O and CLI/STI paths run in ring 3 too.
  cpu.setEflags(2 | (rng.next() & 0x8d5) | (rng.below(8) === 0 ? 0x3000 : 0));
  cpu.eip = CODE;
  cpu.halted = false;
  cpu.stopReason = CpuStop.None;
  cpu.irqPending = false;
  cpu.interruptShadowUntil = -1;
  cpu.sysenterCs = rng.below(2) === 0 ? 0x08 : 0;
  cpu.sysenterEsp = KSTACK_TOP;
  cpu.sysenterEip = handlerAddr(0);
  cpu.tscOffset = 0;
  cpu.firstUnimplemented = null;
  cpu.dr.fill(0);
}

/** A thrown value as text: an Error's stack, or the class name and fields of anything else. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? e.message;
  if (typeof e === "object" && e !== null) return `${e.constructor.name} ${JSON.stringify(e)}`;
  return String(e);
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}
