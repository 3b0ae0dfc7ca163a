/**
 * The x87 guest in lockstep with QEMU 7.2: EIP and the eight general registers before every instruction
 * (the lockstep tool of src/bench; QEMU's `-d cpu` records). The guest's general registers carry x87
 * results through LAHF after FCOMI, through the hex digits it prints and through control flow, so a
 * wrong result diverges here too. Only the basic operations (the transcendental ones differ from QEMU
 * in some last bits, see qemu-guest.test.ts).
 *
 * The second test records QEMU's `-d fpu` log too and compares the x87 registers before every
 * instruction: FCW, FSW (without C1 and DE, which QEMU does not report as the hardware does), which
 * registers are empty, and all eight physical registers' bits, stale contents of empty ones included.
 * Left out there: FPREM1 and FSQRT, whose condition codes QEMU sets otherwise (see qemu-guest.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { Machine } from "../../src/machine/machine.js";
import { ImageCode } from "../../src/bench/disasm.js";
import { formatDivergence, runLockstep } from "../../src/bench/lockstep-core.js";
import { findQemu, FPU_WORDS, loadQemuTrace, recordQemuTrace } from "../../src/bench/qemu-log.js";
import type { FpuState } from "../../src/cpu/fpu-state.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { buildCases, header } from "./guest-cases.js";

describe.skipIf(!canBuildC || !findQemu())("x87 guest in lockstep with QEMU 7.2", () => {
  const dir = mkdtempSync(join(tmpdir(), "ttd-x87-lockstep-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has no divergence in EIP or the general registers", async () => {
    const { snippets, cases } = buildCases(6, 0);
    writeFileSync(join(dir, "x87-cases.h"), header(snippets, cases));
    const elf = buildCGuest("x87-cases", { includeDir: dir });
    const bytes = new Uint8Array(readFileSync(elf));
    const { trace } = await loadQemuTrace(elf, { maxRecords: Infinity });
    const result = runLockstep(Machine.fromElf(bytes), trace);
    const why = result.divergence ? formatDivergence(result.divergence, new ImageCode(new Elf32(bytes))) : "";
    console.log(`x87 lockstep: ${result.compared} instructions compared (${cases.length} cases)`);
    expect(why).toBe("");
    expect(trace.complete).toBe(true);
    expect(result.compared).toBe(trace.count);
  }, 900_000);

  it("has no divergence in the x87 registers either", async () => {
    const { snippets, cases } = buildCases(3, 0, new Set(["fprem1", "fsqrt"]));
    writeFileSync(join(dir, "x87-cases.h"), header(snippets, cases));
    const elf = buildCGuest("x87-cases", { includeDir: dir });
    const bytes = new Uint8Array(readFileSync(elf));
    const { trace } = await recordQemuTrace(elf, { maxRecords: Infinity, fpu: true });
    const machine = Machine.fromElf(bytes);
    const fpu = trace.fpu!;
    const result = runLockstep(machine, trace, { check: (j) => fpuDifference(machine.cpu.fpu, fpu, j * FPU_WORDS) });
    const why = result.divergence ? formatDivergence(result.divergence, new ImageCode(new Elf32(bytes))) : "";
    console.log(`x87 lockstep with FPU registers: ${result.compared} instructions compared (${cases.length} cases)`);
    expect(why).toBe("");
    expect(trace.complete).toBe(true);
    expect(result.compared).toBe(trace.count);
  }, 900_000);
});

const hex4 = (v: number) => (v >>> 0).toString(16).padStart(4, "0");

/** How ttd's x87 state differs from QEMU's record at `at`, or null. */
function fpuDifference(f: FpuState, q: Uint32Array, at: number): string | null {
  const sw = f.statusWord();
  if (f.fcw !== q[at]) return `FCW: ttd ${hex4(f.fcw)} qemu ${hex4(q[at])}`;
  if (((sw ^ q[at + 1]) & ~0x0202) !== 0) return `FSW: ttd ${hex4(sw)} qemu ${hex4(q[at + 1])}`;
  let valid = 0;
  for (let p = 0; p < 8; p++) if (((f.ftw >> (2 * p)) & 3) !== 3) valid |= 1 << p;
  if (valid !== q[at + 2]) return `non-empty registers: ttd ${valid.toString(2)} qemu ${q[at + 2].toString(2)}`;
  for (let p = 0; p < 8; p++) {
    const lo = f.mant[2 * p], hi = f.mant[2 * p + 1], se = f.signExp[p];
    const o = at + 3 + 3 * p;
    if (lo !== q[o] || hi !== q[o + 1] || se !== q[o + 2]) {
      return `R${p}: ttd ${hex4(se)}:${hi.toString(16)}:${lo.toString(16)} qemu ${hex4(q[o + 2])}:${q[o + 1].toString(16)}:${q[o].toString(16)}`;
    }
  }
  return null;
}
