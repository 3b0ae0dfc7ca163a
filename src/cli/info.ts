/** `ttd info`: what a trace holds: steps, events by vector, writes, size, how the run ended. */
import type { Command } from "commander";
import { statSync } from "node:fs";
import { UsageError } from "./errors.js";
import { Trace } from "../trace/trace.js";
import { TraceError } from "../trace/errors.js";
import { openRecordingArg, type Recording } from "../bundle/open.js";
import { formatBytes } from "./record.js";
import { groupDigits } from "../text/group-digits.js";
import { exceptionMnemonic } from "../cpu/exceptions.js";
import { isLinuxBzImage } from "../machine/linux-boot.js";

const KIND_INTERRUPT = 1, KIND_EXCEPTION = 2, KIND_SOFTWARE = 3, KIND_FAULT = 4;

export function vectorName(v: number): string {
  const name = exceptionMnemonic(v);
  return name ? `${name} (${v})` : `0x${v.toString(16)} (${v})`;
}

/**
 * Opens the trace a command names (or the latest): a plain trace or a bundle, whose trace is verified
 * and extracted into the cache first (src/bundle/open.ts). Failures become a UsageError.
 */
export function openTraceArg(arg: string | undefined, options: { verify?: boolean | "quick" | "full" } = {}): Trace {
  return openRecordingForInfo(arg, options).trace;
}

function openRecordingForInfo(arg: string | undefined, options: { verify?: boolean | "quick" | "full" }): Recording {
  try {
    return openRecordingArg(arg, { verify: options.verify });
  } catch (e) {
    if (e instanceof Error && (e.name === "TraceError" || e.name === "BundleError")) throw new UsageError(e.message);
    throw e;
  }
}

/** Bytes of a trace on disk: the file and its write-ahead log. */
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
    .argument("[trace]", "trace file or .ttdb bundle (default: the latest recorded in ./.ttd)")
    .option("--json", "print one JSON object (it has at least 'steps')")
    .option("--verify", "check everything: SQLite's integrity check, every table's checksum, every stored blob decoded")
    .addHelpText(
      "after",
      `
Every open checks the trace's metadata and the SHA-256 of its kernel image, and compares the
checksums of its tables (written when the recording is finalized): all of them for traces up to 4 MiB,
beyond that those that do not grow with the number of steps (not the keyframes, stored pages and write
index), so ttd info takes about as long on a billion steps as on a thousand. --verify checks
everything, whatever the size (SQLite's integrity check, every table's checksum, every stored blob
decoded), and names what is damaged. A file that is not a trace, was written by a newer ttd, is
truncated or damaged gives one line on stderr and exit status 2. A bundle's checksums cover every byte
of it and are checked on every open.

A trace is read without being changed, even one whose recording was killed (its -wal file is read
where it is). A trace still being recorded is shown as such, with the steps committed so far; one
whose recording was killed (kill -9, a crash) as incomplete: it covers the steps up to its last
commit, and every query works on those.

With no trace named, info reads the latest recording in ./.ttd (see 'ttd record').

Examples:
  ttd info traces/idle-bug.ttdb
  ttd info traces/idle-fixed.ttdb --json
  ttd info traces/idle-bug.ttdb --verify`,
    )
    .action((traceArg: string | undefined, opts: { json?: boolean; verify?: boolean }) => {
      // Without --verify only what every open checks: the time taken does not grow with the trace's length.
      const recording = openRecordingForInfo(traceArg, { verify: opts.verify ? "full" : undefined });
      const trace = recording.trace;
      const bundle = recording.bundle;
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
        // A bundle's size is the bundle's; its extracted trace in the cache is an implementation detail.
        const bytes = bundle !== null ? bundle.fileBytes : fileSize(info.path);
        const bytesPerStep = bytes / Math.max(1, info.steps - info.startStep);
        const live = !info.complete && info.recorderPid !== null;
        // What the recorded files were to the kernel: a Linux bzImage (boot protocol) takes one initrd,
        // a multiboot kernel a list of modules. The trace stores both as its boot modules.
        const linux = isLinuxBzImage(trace.image().data);
        const initrd = linux ? info.modules[0] ?? null : null;
        const modules = linux ? [] : info.modules;
        const checked = bundle !== null ? ["bundle checksums", ...trace.checked] : [...trace.checked];
        // Where the symbols come from when not the recorded image itself (a bzImage's System.map), and
        // what they needed (slid to where KASLR moved the kernel).
        const symbols = recording.image.from === "trace" ? null : { from: recording.image.from, note: recording.symbolsNote };
        if (opts.json) {
          const obj = {
            path: recording.path,
            kind: recording.kind,
            bundle:
              bundle === null
                ? null
                : {
                    formatVersion: bundle.formatVersion,
                    toolVersion: bundle.toolVersion,
                    packed: bundle.packed,
                    note: bundle.note,
                    sources: bundle.sources.length,
                    missingSources: bundle.missingSources,
                    bookmarks: recording.bookmarks().length,
                  },
            format: { name: "ttd-trace", version: info.formatVersion },
            toolVersion: info.toolVersion,
            created: info.created,
            image: info.image,
            disks: info.disks,
            input: info.input,
            rtcStart: info.rtcStart,
            memoryBytes: info.memoryBytes,
            guestCmdline: info.guestCmdline,
            boot: linux ? "linux" : "multiboot",
            initrd,
            modules,
            commandLine: info.commandLine,
            complete: info.complete,
            recording: live ? { pid: info.recorderPid } : null,
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
            checked,
            symbols,
          };
          process.stdout.write(JSON.stringify(obj, null, 2) + "\n");
          return;
        }
        const n = (v: number) => groupDigits(v);
        const lines: string[] = [];
        const row = (k: string, v: string) => lines.push(`${(k + ":").padEnd(20)}${v}`);
        if (bundle !== null) {
          row("bundle", `${recording.path} (packed by ttd ${bundle.toolVersion} on ${bundle.packed})`);
          if (bundle.note !== null && bundle.note !== "") row("note", bundle.note.replace(/\s*\n\s*/g, " / "));
          row("sources", `${n(bundle.sources.length)} files${bundle.missingSources.length > 0 ? `, ${n(bundle.missingSources.length)} not found when packed` : ""}`);
          const marks = recording.bookmarks().length;
          if (marks > 0) row("bookmarks", n(marks));
        } else {
          row("trace", info.path);
        }
        row("format", `ttd-trace version ${info.formatVersion}, written by ttd ${info.toolVersion}${info.created ? ` on ${info.created}` : ""}`);
        row("image", `${info.image.name} (${linux ? "Linux bzImage" : "multiboot kernel"}, sha256 ${info.image.sha256})`);
        for (const d of info.disks) {
          row(`disk ${d.drive}`, `${d.name}, ${formatBytes(d.size)} (sha256 ${d.sha256})${d.writeBack ? ", written back to the file" : ""}`);
        }
        if (info.input !== null) row("input", `${n(info.input.events)} ${info.input.device === "keyboard" ? "key events" : "bytes"} to ${info.input.device === "keyboard" ? "the keyboard" : "COM1"} from ${info.input.source === "terminal" ? "a terminal" : `a ${info.input.source}`}, each at its step`);
        if (info.rtcStart !== null) row("clock start", info.rtcStart);
        row("memory", formatBytes(info.memoryBytes));
        if (info.guestCmdline) row("guest cmdline", info.guestCmdline);
        const file = (mod: { string: string; bytes: number; sha256: string }) => `${mod.string} (${n(mod.bytes)} bytes, sha256 ${mod.sha256})`;
        if (initrd !== null) row("initrd", file(initrd));
        modules.forEach((mod, i) => {
          if (i === 0) row("modules", file(mod));
          else lines.push(" ".repeat(20) + file(mod));
        });
        if (info.commandLine.length > 0) row("recorded with", info.commandLine.join(" "));
        if (symbols !== null) row("symbols", `${symbols.from}${symbols.note !== null ? ` (${symbols.note})` : ""}`);
        if (info.end) {
          row("ended", `${info.end.reason} (${info.end.detail})${info.end.exitStatus !== null ? `, exit status ${info.end.exitStatus}` : ""}`);
        } else if (live) {
          row("ended", `not yet: still being recorded (process ${info.recorderPid}); ${n(info.steps)} steps committed so far`);
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
        row("checked", checked.join(", "));
        process.stdout.write(lines.join("\n") + "\n");
      } finally {
        recording.close();
      }
    });
}
