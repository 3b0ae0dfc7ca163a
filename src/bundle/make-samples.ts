/**
 * Regenerates the sample bundles shipped in traces/: the demo kernel's buggy and fixed runs, recorded
 * from src/kernel/build/*.elf and packed with the kernel sources and a few bookmarks found by querying
 * the recordings themselves.
 *
 *   npm run build && node dist/bundle/make-samples.js [output folder, default traces/]
 *
 * Recording is deterministic, so the traces are the same on every machine; only the time stamps differ.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { machineForKernel } from "../cli/load-kernel.js";
import { DEFAULT_MEMORY_MIB } from "../machine/machine.js";
import { Recorder } from "../trace/recorder.js";
import type { DebugInfo } from "../symbols/debug-info.js";
import type { Trace } from "../trace/trace.js";
import { openRecording, type Recording } from "./open.js";
import { packRecording, type PackResult } from "./pack.js";

/** The repository root (this file is src/bundle/ or dist/bundle/). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Chunks and keyframes of the samples, in steps. The samples are short (under 100,000 steps): with the
 * defaults (chunks of 65,536, keyframes every 262,144) they hold a single keyframe, so every query
 * re-executes from step 0, most of a command's time. Every 4,096 steps a query re-executes at most a few
 * thousand steps, for a trace a few dozen KiB larger.
 */
const SAMPLE_INTERVAL_STEPS = 4096;

/** Offset of registers[Error] in a TCB object: tcb_t at 0x400, registers[] at 0x200 into it, index 9. */
export const IDLE_ERROR_SLOT_OFFSET = 0x624;

export interface Sample {
  name: "idle-bug" | "idle-fixed";
  note: string;
}

export const SAMPLES: Sample[] = [
  {
    name: "idle-bug",
    note:
      "Demo kernel with seL4 12.1.0's idle thread: clang's `push %ebp` prologue in idle_thread moves ESP one slot down, " +
      "the next timer interrupt lands its frame one slot low and puts the idle EIP into the idle TCB's registers[Error] " +
      "(ksIdleThreadTCB+0x624); restore_user_context then irets with CS = 0x202 and takes #GP, error code 0x200.",
  },
  {
    name: "idle-fixed",
    note: "Demo kernel with the fix of seL4 13.0.0: idle_thread is naked (`1: hlt; jmp 1b`); the idle TCB's saved frame stays in place and the run ends with ALL OK.",
  },
];

function idleErrorSlot(symbols: DebugInfo): number {
  const v = symbols.variable("ksIdleThreadTCB");
  if (v?.address === undefined) throw new Error("the image has no ksIdleThreadTCB");
  return v.address + IDLE_ERROR_SLOT_OFFSET;
}

/** The first step at which an interrupt or exception with `vector` is delivered, or null. */
function firstEvent(trace: Trace, vector: number, filter: (eip: number) => boolean = () => true): number | null {
  for (const e of trace.events()) if ((e.kind === "exception" || e.kind === "interrupt") && e.vector === vector && filter(e.eip)) return e.step;
  return null;
}

/** Bookmarks worth having in the samples, each found by a query on the recording. */
function addBookmarks(rec: Recording, sample: Sample): void {
  const symbols = rec.symbols;
  if (symbols === null) throw new Error(`${rec.path}: no symbols`);
  const trace = rec.trace;
  const slot = idleErrorSlot(symbols);
  const inIdle = (eip: number) => symbols.functionAt(eip)?.function.name === "idle_thread";
  const tick = firstEvent(trace, 157, inIdle);
  if (tick !== null) rec.setBookmark({ name: "first-idle-tick", step: tick, note: "the first timer interrupt taken while the idle thread runs" });
  if (sample.name === "idle-bug") {
    const gp = firstEvent(trace, 13);
    if (gp === null) throw new Error(`${rec.path}: the buggy run has no #GP`);
    rec.setBookmark({ name: "gp-fault", step: gp, note: "#GP 0x200: the iret of restore_user_context pops CS = 0x202" });
    const w = trace.lastWrite({ address: slot, size: 4 }, gp);
    if (w !== null) {
      rec.setBookmark({ name: "error-slot-overwritten", step: w.step, note: "the timer interrupt frame writes the idle EIP into registers[Error]" });
    }
  }
}

async function record(kernelRel: string, tracePath: string): Promise<void> {
  const { machine, image } = machineForKernel(join(REPO_ROOT, kernelRel), { memoryMiB: DEFAULT_MEMORY_MIB, cmdline: "", compile: true });
  const name = kernelRel.split("/").pop()!;
  const recorder = new Recorder(machine, {
    path: tracePath,
    image,
    imageName: name,
    cmdline: "",
    // The equivalent command, run from the repository root.
    commandLine: ["ttd", "record", kernelRel],
    threaded: false,
    chunkSteps: SAMPLE_INTERVAL_STEPS,
    keyframeSteps: SAMPLE_INTERVAL_STEPS,
  });
  await recorder.run();
}

/** Records and packs every sample into `outDir`; returns what was written. */
export async function makeSamples(outDir = join(REPO_ROOT, "traces")): Promise<PackResult[]> {
  const work = mkdtempSync(join(tmpdir(), "ttd-samples-"));
  const results: PackResult[] = [];
  try {
    for (const sample of SAMPLES) {
      const tracePath = join(work, `${sample.name}.trace`);
      await record(`src/kernel/build/${sample.name}.elf`, tracePath);
      const rec = openRecording(tracePath, { sourceDirs: [REPO_ROOT] });
      try {
        addBookmarks(rec, sample);
        results.push(packRecording(rec, join(outDir, `${sample.name}.ttdb`), { note: sample.note, force: true }));
      } finally {
        rec.close();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv[2] !== undefined ? resolve(process.argv[2]) : undefined;
  for (const r of await makeSamples(out)) {
    const missing = r.missing.length > 0 ? `, missing sources: ${r.missing.join(", ")}` : "";
    process.stdout.write(`${r.path}: ${r.fileBytes} bytes, ${r.manifest.recording.steps} steps, ${r.sources.count} sources, ${r.manifest.bookmarks.length} bookmarks${missing}\n`);
  }
}
