/** `ttd info`: what a trace holds: steps, events by vector, writes, size, how the run ended. */
import type { Command } from "commander";
import { statSync } from "node:fs";
import { UsageError } from "./errors.js";
import { Trace } from "../trace/trace.js";
import { TraceError } from "../trace/errors.js";
import { openRecordingArg } from "../bundle/open.js";
import { formatBytes } from "./record.js";

const KIND_INTERRUPT = 1, KIND_EXCEPTION = 2, KIND_SOFTWARE = 3, KIND_FAULT = 4;

const EXCEPTION_NAMES: Record<number, string> = {
  0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF", 10: "#TS", 11: "#NP",
  12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC", 18: "#MC", 19: "#XM",
};

export function vectorName(v: number): string {
  const name = EXCEPTION_NAMES[v];
  return name ? `${name} (${v})` : `0x${v.toString(16)} (${v})`;
}

/**
 * Opens the trace a command names (or the latest): a plain trace or a bundle, whose trace is verified
 * and extracted into the cache first (src/bundle/open.ts). Failures become a UsageError.
 */
export function openTraceArg(arg: string | undefined, options: { verify?: boolean } = {}): Trace {
  try {
    return openRecordingArg(arg, { verify: options.verify }).trace;
  } catch (e) {
    if (e instanceof Error && (e.name === "TraceError" || e.name === "BundleError")) throw new UsageError(e.message);
    throw e;
  }
}

function fileSize(path: string): number {
  let n = 0;
  for (const s of ["", "-wal"]) {
    try {
      n += statSync(path + s).size;
    } catch {
      // absent
    }
  }
  return n;
}

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("summarize a trace: steps, interrupts and exceptions by vector, memory writes, size, how the run ended")
    .argument("[trace]", "trace file (default: the latest recorded in ./.ttd)")
    .option("--json", "print one JSON object (it has at least 'steps')")
    .addHelpText(
      "after",
      `
The whole file is checked for damage first (SQLite's quick_check); a file that is not a trace, was
written by a newer ttd, is truncated or corrupt gives one line on stderr and exit status 2.

A trace whose recording was killed (kill -9, a crash) is shown as incomplete: it covers the steps up to
its last commit, and every query works on those.

Examples:
  ttd info
  ttd info .ttd/probe-r1-1.trace
  ttd info idle.trace --json`,
    )
    .action((traceArg: string | undefined, opts: { json?: boolean }) => {
      const trace = openTraceArg(traceArg, { verify: true });
      try {
        const info = trace.info();
        let summary;
        try {
          summary = trace.summary();
        } catch (e) {
          if (e instanceof TraceError) throw new UsageError(e.message);
          throw e;
        }
        const count = (kind: number) => summary.eventsByVector.filter((e) => e.kind === kind).reduce((a, e) => a + e.count, 0);
        const byVector = (kind: number) => Object.fromEntries(summary.eventsByVector.filter((e) => e.kind === kind).map((e) => [String(e.vector), e.count]));
        const interrupts = count(KIND_INTERRUPT), exceptions = count(KIND_EXCEPTION), faults = count(KIND_FAULT), software = count(KIND_SOFTWARE);
        // Every step retires an instruction except deliveries and the aborts of faulting instructions.
        const instructions = info.steps - info.startStep - interrupts - exceptions - faults;
        const bytes = fileSize(info.path);
        const bytesPerStep = bytes / Math.max(1, info.steps - info.startStep);
        if (opts.json) {
          const obj = {
            path: info.path,
            format: { name: "ttd-trace", version: info.formatVersion },
            toolVersion: info.toolVersion,
            created: info.created,
            image: info.image,
            disks: info.disks,
            memoryBytes: info.memoryBytes,
            guestCmdline: info.guestCmdline,
            commandLine: info.commandLine,
            complete: info.complete,
            end: info.end,
            steps: info.steps,
            startStep: info.startStep,
            instructions,
            interrupts: { total: interrupts, byVector: byVector(KIND_INTERRUPT) },
            exceptions: { total: exceptions, byVector: byVector(KIND_EXCEPTION) },
            faults: { total: faults, byVector: byVector(KIND_FAULT) },
            softwareInterrupts: { total: software, byVector: byVector(KIND_SOFTWARE) },
            memoryWrites: info.memoryWrites,
            outputBytes: summary.outputBytes,
            ports: summary.ports,
            keyframes: summary.keyframes,
            keyframePages: summary.pages,
            indexRows: summary.indexRows,
            chunkSteps: info.chunkSteps,
            keyframeSteps: info.keyframeSteps,
            fileBytes: bytes,
            bytesPerStep: Number(bytesPerStep.toFixed(4)),
          };
          process.stdout.write(JSON.stringify(obj, null, 2) + "\n");
          return;
        }
        const n = (v: number) => v.toLocaleString("en-US");
        const lines: string[] = [];
        const row = (k: string, v: string) => lines.push(`${(k + ":").padEnd(20)}${v}`);
        row("trace", info.path);
        row("format", `ttd-trace version ${info.formatVersion}, written by ttd ${info.toolVersion}${info.created ? ` on ${info.created}` : ""}`);
        row("image", `${info.image.name} (sha256 ${info.image.sha256})`);
        for (const d of info.disks) {
          row(`disk ${d.drive}`, `${d.name}, ${formatBytes(d.size)} (sha256 ${d.sha256})${d.writeBack ? ", written back to the file" : ""}`);
        }
        row("memory", formatBytes(info.memoryBytes));
        if (info.guestCmdline) row("guest cmdline", info.guestCmdline);
        if (info.commandLine.length > 0) row("recorded with", info.commandLine.join(" "));
        if (info.end) {
          row("ended", `${info.end.reason} (${info.end.detail})${info.end.exitStatus !== null ? `, exit status ${info.end.exitStatus}` : ""}`);
        } else {
          row("ended", `incomplete: the recording stopped without finalizing (killed?); the trace covers steps up to ${n(info.steps)}`);
        }
        row("steps", n(info.steps));
        row("instructions", n(instructions));
        const listVectors = (kind: number) =>
          summary.eventsByVector.filter((e) => e.kind === kind).map((e) => `${vectorName(e.vector)} x${n(e.count)}`).join(", ");
        row("interrupts", interrupts === 0 ? "0" : `${n(interrupts)}: ${listVectors(KIND_INTERRUPT)}`);
        row("exceptions", exceptions === 0 ? "0" : `${n(exceptions)}: ${listVectors(KIND_EXCEPTION)}`);
        if (faults > 0) row("faulting instrs", `${n(faults)}: ${listVectors(KIND_FAULT)}`);
        if (software > 0) row("int n", `${n(software)}: ${listVectors(KIND_SOFTWARE)}`);
        row("memory writes", n(info.memoryWrites));
        row("guest output", `${n(summary.outputBytes)} bytes`);
        if (summary.ports.length > 0) {
          const shown = summary.ports.slice(0, 8).map((p) => `0x${p.port.toString(16)} (${n(p.reads)} in, ${n(p.writes)} out)`);
          row("ports", shown.join(", ") + (summary.ports.length > 8 ? `, ... (${summary.ports.length} ports)` : ""));
        }
        row("keyframes", `${n(summary.keyframes)} (every ${n(info.keyframeSteps)} steps), ${n(summary.pages)} stored pages`);
        row("write index", `${n(summary.indexRows)} rows (chunks of ${n(info.chunkSteps)} steps)`);
        row("file size", `${formatBytes(bytes)}, ${bytesPerStep.toFixed(3)} bytes/step`);
        process.stdout.write(lines.join("\n") + "\n");
      } finally {
        trace.close();
      }
    });
}
