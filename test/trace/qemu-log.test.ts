/**
 * `ttd log --json` against QEMU's per-instruction register log (`-singlestep -d exec,cpu`), through
 * the same comparison as the machine's lockstep test (src/bench/lockstep-core.ts): here the "machine"
 * is the stream of log records, so what is checked is the recorded trace replayed by `ttd log`.
 *
 * Multiboot leaves most registers undefined at the entry and the two loaders fill them differently;
 * the machine's lockstep test adopts QEMU's values into the machine, which a recorded trace cannot do.
 * The workload guest's entry code zeroes every general register, so the comparison starts at the first record
 * where all of them agree (a few instructions in) and runs to the 400,000th.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { StepKind } from "../../src/cpu/observer.js";
import { Elf32 } from "../../src/elf/elf32.js";
import { ImageCode } from "../../src/bench/disasm.js";
import { formatDivergence, runLockstep, type LockstepMachine } from "../../src/bench/lockstep-core.js";
import { findQemu, loadQemuTrace, QEMU_MISSING, REG_NAMES, type QemuTrace } from "../../src/bench/qemu-log.js";
import { readImage, requireBuiltCli, tmpDir, ttd } from "./helpers.js";
import { workload } from "../guests.js";

const STEPS = Number(process.env.TTD_LOCKSTEP_STEPS ?? 400_000);

interface LogRow {
  step: number;
  kind: string;
  eip: string;
  eflags: string;
  [reg: string]: unknown;
}

/** Log records seen as a machine: its registers are those of the current record, step() moves to the next. */
class LogMachine implements LockstepMachine {
  private i = 0;
  readonly cpu: { regs: Int32Array; eip: number; steps: number; getEflags(): number };

  constructor(private readonly rows: LogRow[], first: number) {
    this.i = first;
    let flags = 0;
    this.cpu = { regs: new Int32Array(8), eip: 0, steps: 0, getEflags: () => flags };
    this.load = (i: number) => {
      const r = rows[i];
      // The order of cpu.regs and of QEMU's records: eax, ecx, edx, ebx, esp, ebp, esi, edi.
      REG_NAMES.forEach((n, k) => (this.cpu.regs[k] = Number(r[n]) | 0));
      this.cpu.eip = Number(r.eip) >>> 0;
      this.cpu.steps = r.step;
      flags = Number(r.eflags) >>> 0;
    };
    this.load(first);
  }

  private readonly load: (i: number) => void;

  step(): number {
    const kind = this.rows[this.i].kind;
    this.i++;
    if (this.i >= this.rows.length) throw new Error(`the log has only ${this.rows.length} records`);
    this.load(this.i);
    return kind === "interrupt" ? StepKind.Interrupt : kind === "exception" ? StepKind.Exception : kind === "fault" ? StepKind.Fault : StepKind.Instruction;
  }
}

describe("ttd log agrees with QEMU's log", () => {
  beforeAll(() => {
    requireBuiltCli();
    if (!findQemu()) throw new Error(`${QEMU_MISSING}; this test needs it (CI installs it)`);
  });

  test.each(["workload-r1.elf", "workload-pg-r10.elf"] as const)(`%s: the first ${STEPS} steps`, async (image) => {
    const elf = workload(image);
    const out = path.join(tmpDir(), "pg.trace");
    const margin = 100;
    expect(ttd(["record", elf, "-o", out, "--max-steps", String(STEPS + margin)]).status).toBe(4);
    const log = ttd(["log", out, "--json", "--count", String(STEPS + margin)], { timeoutMs: 600_000 });
    expect(log.status, log.stderr).toBe(0);
    const rows = log.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as LogRow);
    expect(rows).toHaveLength(STEPS + margin);
    const { trace } = await loadQemuTrace(elf, { maxRecords: STEPS });
    expect(trace.count).toBe(STEPS);
    const agree = (i: number) => Number(rows[i].eip) === trace.eip[i] && REG_NAMES.every((n, k) => (Number(rows[i][n]) | 0) === trace.regs[i * 8 + k]);
    let first = 0;
    while (first < 32 && !agree(first)) first++;
    expect(first, "the registers never agree in the first 32 records").toBeLessThan(32);
    const tail: QemuTrace = {
      ...trace,
      entry: trace.eip[first],
      count: trace.count - first,
      eip: trace.eip.subarray(first),
      regs: trace.regs.subarray(first * 8),
      eflags: trace.eflags.subarray(first),
    };
    const result = runLockstep(new LogMachine(rows, first), tail);
    if (result.divergence) throw new Error(formatDivergence(result.divergence, new ImageCode(new Elf32(readImage(elf)))));
    expect(result.compared).toBe(STEPS - first);
    expect(result.adopted).toEqual([]);
  }, 900_000);
});
