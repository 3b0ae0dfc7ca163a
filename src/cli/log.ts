/** `ttd log`: one line per step (step, kind, EIP, disassembly, registers before it), replayed from a trace. */
import type { Command } from "commander";
import { parsePositiveInt, UsageError } from "./errors.js";
import { parseStepOption } from "./step-option.js";
import { openTraceArg, vectorName } from "./info.js";
import { TraceError } from "../trace/errors.js";
import { disassemble } from "../disasm/disassembler.js";
import type { StepRecord, Trace } from "../trace/trace.js";
import type { FpuStateData } from "../cpu/fpu-state.js";
import { changedFpuRegisters, fpuRegisters } from "../query/fpu-registers.js";
import { outputLines } from "../query/output-search.js";

const DEFAULT_COUNT = 20;

const hex8 = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

/** The JSON object of one step: registers as "0x..." strings, so a script can compare with QEMU's log. */
export function stepJson(r: StepRecord): Record<string, unknown> {
  const g = r.regs;
  const d = r.kind === "instruction" || r.kind === "fault" ? disassemble(r.bytes, g.eip) : null;
  const obj: Record<string, unknown> = {
    step: r.step,
    kind: r.kind,
    eip: hex(g.eip),
    cs: hex(g.cs),
    cpl: g.cpl,
    eax: hex(g.eax),
    ebx: hex(g.ebx),
    ecx: hex(g.ecx),
    edx: hex(g.edx),
    esi: hex(g.esi),
    edi: hex(g.edi),
    ebp: hex(g.ebp),
    esp: hex(g.esp),
    eflags: hex(g.eflags),
  };
  if (d !== null) {
    obj.bytes = Array.from(r.bytes.subarray(0, d.length || Math.min(r.bytes.length, 4)), (b) => b.toString(16).padStart(2, "0")).join(" ");
    obj.asm = d.text;
  }
  if (r.vector !== undefined) obj.vector = r.vector;
  if (r.errorCode !== undefined && r.errorCode !== null) obj.errorCode = hex(r.errorCode);
  if (r.fpu !== undefined) {
    const fpu: Record<string, string> = {};
    for (const reg of fpuRegisters(r.fpu)) {
      fpu[reg.name] = reg.name.startsWith("st") ? reg.raw : `0x${reg.raw.replace(/ /g, "")}`;
      if (reg.name.startsWith("st")) fpu[`${reg.name}Value`] = reg.value;
    }
    obj.fpu = fpu;
  }
  return obj;
}

/**
 * The FPU line under a step of `ttd log --fpu`: the x87/SSE registers (before the step) that differ
 * from those before the previous printed step, or from power-on values for the first; null when none do.
 */
export function fpuChangesText(r: StepRecord, previous: FpuStateData | null): string | null {
  if (r.fpu === undefined) return null;
  const regs = fpuRegisters(r.fpu);
  const changed = previous === null ? null : changedFpuRegisters(previous, r.fpu);
  const parts: string[] = [];
  for (const reg of regs) {
    if (changed !== null ? !changed.has(reg.name) : !isNonDefault(reg.name, reg.raw, reg.value)) continue;
    parts.push(reg.name.startsWith("st") ? `${reg.name}=${reg.value} (${reg.raw})` : `${reg.name}=${reg.raw.replace(/ /g, ":")}`);
  }
  return parts.length === 0 ? null : `${" ".repeat(12)}fpu ${parts.join(" ")}`;
}

/** Whether a register differs from its power-on value (FCW 037F, tags empty, MXCSR 1F80, zeros). */
function isNonDefault(name: string, raw: string, value: string): boolean {
  if (name.startsWith("st")) return value !== "empty";
  if (name === "fcw") return raw !== "037f";
  if (name === "ftw") return raw !== "ffff";
  if (name === "mxcsr") return raw !== "00001f80";
  return /[1-9a-f]/.test(raw);
}

/** The text line of one step. */
export function stepText(r: StepRecord): string {
  const g = r.regs;
  let what: string;
  switch (r.kind) {
    case "interrupt":
      what = `interrupt ${vectorName(r.vector ?? 0)}`;
      break;
    case "exception":
      what = `exception ${vectorName(r.vector ?? 0)}${r.errorCode != null ? ` error ${hex(r.errorCode)}` : ""}`;
      break;
    case "fault":
      what = `faults ${vectorName(r.vector ?? 0)}: ${disassemble(r.bytes, g.eip).text}`;
      break;
    default:
      what = disassemble(r.bytes, g.eip).text;
      if (r.vector !== undefined) what += `  [int ${vectorName(r.vector)}]`;
  }
  const regs =
    `eax=${hex8(g.eax)} ebx=${hex8(g.ebx)} ecx=${hex8(g.ecx)} edx=${hex8(g.edx)} esi=${hex8(g.esi)} edi=${hex8(g.edi)} ` +
    `ebp=${hex8(g.ebp)} esp=${hex8(g.esp)} efl=${hex8(g.eflags)}`;
  return `${String(r.step).padStart(10)}  ${r.kind.padEnd(11)} ${hex8(g.eip)}  ${what.padEnd(36)}  ${regs}`;
}

/** Buffered stdout with back-pressure; a closed pipe (`ttd log | head`) ends the output quietly. */
class Output {
  private parts: string[] = [];
  private size = 0;
  closed = false;
  constructor() {
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") this.closed = true;
      else throw e;
    });
  }
  async line(s: string): Promise<void> {
    this.parts.push(s, "\n");
    this.size += s.length + 1;
    if (this.size >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.size === 0 || this.closed) return;
    const text = this.parts.join("");
    this.parts = [];
    this.size = 0;
    if (!process.stdout.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          process.stdout.off("drain", done);
          process.stdout.off("error", done);
          resolve();
        };
        process.stdout.on("drain", done);
        process.stdout.on("error", done);
      });
    }
  }
}

export function registerLog(program: Command): void {
  program
    .command("log")
    .description("print one line per step: step, kind, EIP, disassembly and the registers before the step")
    .argument("[trace]", "trace file (default: the latest recorded in ./.ttd)")
    .option("--from <step>", "first step to show: a number, 'start', 'fault' or 'end' (default: the first step of the trace)")
    .option("--count <n>", `how many steps to show (default ${DEFAULT_COUNT})`)
    .option("--json", "one JSON object per line: step, kind, eip, cs, cpl, eax...edi, esp, ebp, eflags (\"0x...\" strings), bytes, asm")
    .option("--fpu", "also the x87/SSE registers: under each step those that changed (all of them, in an 'fpu' object, with --json)")
    .option("--output", "list the guest's output instead: one line per output line, with the steps of its first and last byte, and the inputs (> lines) where they entered; --from and --count count lines (--json: {firstStep, lastStep, stream, text} or {step, input, device, bytes})")
    .addHelpText(
      "after",
      `
Steps are replayed from the trace (re-executed from the nearest keyframe), so any window is quick to
reach. Kinds: instruction (an instruction retired; 'int n' is one, with its vector), interrupt (an
external interrupt delivered), exception (an exception delivered), fault (an instruction aborted by a
fault; its delivery is the next step). Registers are those before the step, as in QEMU's -d cpu log.
With --fpu, a line under a step lists the x87 and SSE registers (before the step) that changed since
the previous line: ST(i) as its value and raw bits (sign/exponent:significand), the others in hex.

With --output, the lines the guest printed (COM1 and the 0xe9 console) are listed with the steps that
printed their first and last byte, interleaved with the recorded input (each at the step it entered),
so a session reads as the user saw it; 'ttd find-output TEXT' jumps to one line.

With no trace named, log reads the latest recording in ./.ttd (see 'ttd record').

Exit status: 0 when the steps were printed (also when the reader of a pipe stops early); 2 for bad input
(no such trace, a damaged one, a bad --count, a --from that is not a step of the trace).

Examples:
  ttd log traces/idle-bug.ttdb --count 10
  ttd log traces/idle-bug.ttdb --from fault --count 8
  ttd log traces/idle-fixed.ttdb --json --count 5000 > steps.jsonl
  ttd log traces/idle-bug.ttdb --fpu --count 10
  ttd log traces/idle-fixed.ttdb --output --count 5`,
    )
    .action(async (traceArg: string | undefined, opts: { from?: string; count?: string; json?: boolean; fpu?: boolean; output?: boolean }) => {
      const count = opts.count !== undefined ? parsePositiveInt(opts.count, "--count") : DEFAULT_COUNT;
      const trace = openTraceArg(traceArg);
      const out = new Output();
      try {
        if (opts.output) {
          const from = opts.from !== undefined ? parseStepOption(trace, opts.from, "--from") : trace.startStep;
          await listOutput(trace, from, opts.count !== undefined ? count : Infinity, opts.json === true, out);
          await out.flush();
          return;
        }
        const from = opts.from !== undefined ? parseStepOption(trace, opts.from, "--from") : trace.startStep;
        const cursor = trace.cursor(from, { fpu: opts.fpu === true });
        let previousFpu: FpuStateData | null = null;
        for (let i = 0; i < count && !out.closed; i++) {
          const rec = cursor.next();
          if (rec === null) break;
          await out.line(opts.json ? JSON.stringify(stepJson(rec)) : stepText(rec));
          if (opts.fpu && !opts.json) {
            const line = fpuChangesText(rec, previousFpu);
            if (line !== null) await out.line(line);
            previousFpu = rec.fpu ?? null;
          }
        }
        await out.flush();
      } catch (e) {
        if (e instanceof TraceError) throw new UsageError(e.message);
        throw e;
      } finally {
        trace.close();
      }
    });
}

/** Printable form of output or input bytes: Latin-1, control characters as escapes. */
function visible(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === "\t" ? "\t" : c === "\r" ? "\\r" : c === "\n" ? "\\n" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** `log --output`: output lines (and the inputs between them) whose last byte came at `from` or later. */
async function listOutput(trace: Trace, from: number, count: number, json: boolean, out: Output): Promise<void> {
  type Row = { step: number; order: number; text: string; json: Record<string, unknown> };
  const rows: Row[] = [];
  for (const l of outputLines(trace)) {
    if (l.lastStep < from) continue;
    const stream = l.stream === "serial" ? "com1" : l.stream;
    const steps = l.firstStep === l.lastStep ? String(l.lastStep) : `${l.firstStep}-${l.lastStep}`;
    rows.push({ step: l.lastStep, order: 1, text: `${steps.padStart(21)}  ${stream.padEnd(8)}  ${visible(l.text)}`, json: { firstStep: l.firstStep, lastStep: l.lastStep, stream, text: l.text } });
  }
  for (const i of trace.inputs()) {
    if (i.step < from) continue;
    const bytes = Array.from(i.data, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const shown = i.deviceName === "com1" ? visible(Buffer.from(i.data).toString("latin1")) : `scan codes ${bytes}`;
    rows.push({ step: i.step, order: 0, text: `${String(i.step).padStart(21)}  > ${i.deviceName.padEnd(6)}  ${shown}`, json: { step: i.step, input: true, device: i.deviceName, bytes } });
  }
  rows.sort((a, b) => a.step - b.step || a.order - b.order);
  for (let i = 0; i < rows.length && i < count && !out.closed; i++) await out.line(json ? JSON.stringify(rows[i].json) : rows[i].text);
}
