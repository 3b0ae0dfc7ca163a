/**
 * `ttd demo`: the founding case in one command. Records (or reuses a recording of) the bundled
 * seL4-style kernel whose idle thread has a compiler-generated `push %ebp`, shows the crash it ends in,
 * and asks the trace who last wrote the idle thread's saved `registers[Error]` and why there.
 */
import type { Command } from "commander";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Machine } from "../machine/machine.js";
import { Recorder } from "../trace/recorder.js";
import { openRecording, type Recording } from "../bundle/open.js";
import { CACHE_ENV, cacheRoot } from "../bundle/cache.js";
import { fsErrorCode, fsProblem, UsageError } from "./errors.js";
import { QueryContext } from "../query/context.js";
import { resolveLocation } from "../query/location.js";
import { whyWrite, type WhyWriteAnswer } from "../query/why-write.js";
import { describeWriter, renderWhyWrite, whyWriteJson } from "../query/render.js";
import { hex } from "../query/context.js";
import { groupDigits } from "../text/group-digits.js";

/** The repository (or installed package) root: dist/cli/demo.js is two levels below it. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DEMO_KERNEL = join(PACKAGE_ROOT, "src", "kernel", "build", "idle-bug.elf");
const DEMO_BUNDLE = join(PACKAGE_ROOT, "traces", "idle-bug.ttdb");
/** The question the seL4 user spent days on, as a C expression over the kernel's own symbols. */
const QUESTION = "ksIdleThread->tcbArch.tcbContext.registers[Error]";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("record the bundled seL4-style kernel with the idle-thread push bug and ask why it crashed")
    .option("--fresh", "record again even when a recording of the current image exists")
    .option("--json", "print the crash and the answer as one JSON object")
    .addHelpText(
      "after",
      `
The demo kernel (src/kernel/) reproduces seL4 12.1.0's ia32 bug: idle_thread() is a C function, so the
compiler gives it a 'push %ebp' prologue; the idle thread's only stack is its TCB's register save area, so
the next timer interrupt's frame lands one word low and a later 'iret' dies with #GP 0x200.

ttd demo uses traces/idle-bug.ttdb when it matches the kernel image, else a recording cached under
${join("~", ".cache", "ttd", "demo")} (or $TTD_CACHE_DIR/demo), recording one on first use. Then it runs
the equivalent of:
  ttd why-write '${QUESTION}' --trace traces/idle-bug.ttdb --at fault --chain

Exit status: 0 when the answer is printed; 2 for bad input (an unknown option) or when the recording
cannot be written to the cache folder.

Examples:
  ttd demo
  ttd demo --json > demo.json`,
    )
    .action(async (opts: { fresh?: boolean; json?: boolean }) => {
      const recording = await demoRecording(opts.fresh === true, opts.json !== true);
      try {
        const ctx = QueryContext.fromRecording(recording);
        const fault = ctx.trace.events().find((e) => e.kind === "fault");
        const at = fault?.step ?? ctx.trace.steps;
        const loc = resolveLocation(ctx, QUESTION, at);
        if (loc.kind !== "memory") throw new Error("the demo question must name memory");
        const answer = whyWrite(ctx, loc, at, { chain: true });
        const crash = crashReport(recording);
        if (opts.json) {
          process.stdout.write(JSON.stringify({ recording: recording.path, crash, faultStep: at, answer: whyWriteJson(answer), culprit: culprit(answer) }) + "\n");
          return;
        }
        const out = process.stdout;
        out.write(`\nThe demo kernel crashed (${groupDigits(ctx.trace.steps)} steps recorded in ${relative(process.cwd(), recording.path) || recording.path}):\n\n`);
        out.write(crash.map((l) => `    ${l}`).join("\n") + "\n\n");
        out.write(`The iret at step ${groupDigits(at)} popped garbage. The question that took days of printf debugging:\n`);
        out.write(`who last wrote the idle thread's saved registers[Error], and why there?\n\n`);
        out.write(renderWhyWrite(answer, ctx) + "\n");
        const c = culprit(answer);
        if (c !== null) out.write(`\nIn short: ${c}\n`);
        out.write(`\nNext: ttd log ${recording.path} --from ${Math.max(0, at - 5)} --count 8   (the steps around the fault)\n`);
        out.write(`      ttd why-write '$esp' --trace ${recording.path} --at ${answer.writes[0]?.step ?? at}   (who last moved ESP)\n`);
        out.write(`      ttd explain ${recording.path}   (the same, from the crash alone: no location named)\n`);
      } finally {
        recording.close();
      }
    });
}

/** The serial output from the kernel's exception banner on (or its last lines). */
function crashReport(rec: Recording): string[] {
  const text = Buffer.from(rec.trace.output().filter((o) => o.streamName === "serial").map((o) => o.byte)).toString("latin1");
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.includes("KERNEL EXCEPTION"));
  const from = start >= 0 ? start : Math.max(0, lines.length - 30);
  const shown = lines.slice(from).filter((l, i, a) => l !== "" || i < a.length - 1);
  // The full dump is 20 words; the first eight carry the story.
  const dump = shown.findIndex((l) => l.startsWith("Stack Dump"));
  if (dump >= 0) return [...shown.slice(0, dump + 9), "    ...", ...shown.slice(dump + 21)];
  return shown;
}

/** One sentence naming the step that put the write's address register where it was, if the chain found one. */
function culprit(a: WhyWriteAnswer): string | null {
  const w = a.writes[0];
  const link = a.chain.find((l) => l.kind === "change");
  if (w === undefined || link === undefined || link.code === null) return null;
  return `the write (${describeWriter(w)}) landed at ${hex(a.location.address)} because ${link.register?.toUpperCase()} was ${hex(link.after ?? 0)}, moved there from ${hex(link.before ?? 0)} by \`${link.code.disasm}\` in ${link.code.symbol ?? hex(link.code.eip)}${link.code.file !== null ? ` (${link.code.file}:${link.code.line})` : ""} at step ${link.step}.`;
}

/** The demo recording: the shipped bundle if it matches the image, else a cached trace, else a new one. */
async function demoRecording(fresh: boolean, verbose: boolean): Promise<Recording> {
  const image = new Uint8Array(readFileSync(DEMO_KERNEL));
  const sha = createHash("sha256").update(image).digest("hex");
  if (!fresh && existsSync(DEMO_BUNDLE)) {
    try {
      const rec = openRecording(DEMO_BUNDLE);
      if (rec.image.sha256 === sha) return rec;
      rec.close();
    } catch {
      // a damaged or older bundle: fall back to recording
    }
  }
  const dir = join(cacheRoot(), "demo");
  const path = join(dir, `idle-bug-${sha.slice(0, 16)}.trace`);
  if (!fresh && existsSync(path)) {
    try {
      return openRecording(path);
    } catch {
      // unreadable cache: record again
    }
  }
  try {
    await recordDemo(image, path, verbose);
  } catch (e) {
    if (fsErrorCode(e) !== undefined) throw new UsageError(`${dir}: cannot write the demo recording: ${fsProblem(e)} (set ${CACHE_ENV} to a writable folder)`);
    throw e;
  }
  return openRecording(path);
}

/** Records the demo kernel into `path`, through a temporary name so a half-written trace is never reused. */
async function recordDemo(image: Uint8Array, path: string, verbose: boolean): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  if (verbose) process.stderr.write(`ttd demo: recording ${relative(process.cwd(), DEMO_KERNEL)} (serial output follows)\n`);
  const machine = Machine.fromElf(image);
  const recorder = new Recorder(machine, {
    path: tmp,
    image,
    imageName: "src/kernel/build/idle-bug.elf",
    commandLine: ["ttd", "demo"],
    onSerial: verbose ? (b) => process.stderr.write(String.fromCharCode(b)) : undefined,
  });
  await recorder.run();
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(tmp + suffix)) renameSync(tmp + suffix, path + suffix);
  }
}
