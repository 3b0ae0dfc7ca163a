/**
 * "Who last wrote this, and why there?": the last write before a step to every byte of a location,
 * each described for a kernel developer (the instruction with its function, source line and
 * disassembly, or the CPU pushing part of an interrupt frame), the old and new values, the value at
 * the step, and where never-written bytes got their value.
 */
import type { MemoryWrite, TraceEvent } from "../trace/trace.js";
import { type CodeRef, type QueryContext, hex } from "./context.js";
import type { Location } from "./location.js";
import { explainChain, type ChainLink } from "./chain.js";
import { StepWindow } from "./step-window.js";
import { callPath, type CallPath } from "./call-path.js";

/** Who made a write. */
export type Writer =
  | { kind: "instruction"; code: CodeRef }
  | {
      kind: "cpu";
      /** What the CPU was doing: delivering an interrupt or exception, or another CPU-made write. */
      activity: "interrupt" | "exception" | "software-interrupt" | "task-state" | "descriptor" | "page-table";
      vector: number | null;
      /** For interrupt frames: which word of the frame ("EIP", "CS", "EFLAGS", "ESP", "SS", "error code"). */
      framePart: string | null;
      /** The code that was running (the interrupted or faulting instruction). */
      code: CodeRef;
    };

export interface WriteExplanation {
  step: number;
  /** Linear and physical address and size of the whole write (it may cover more than the location). */
  address: number;
  physical: number;
  size: number;
  oldValue: number;
  newValue: number;
  /** The location's bytes [from, to) that this write was last to set. */
  bytes: [number, number];
  writer: Writer;
}

export interface WhyWriteAnswer {
  location: Location & { kind: "memory" };
  /** The step the question is asked at (the state before it runs). */
  atStep: number;
  /** The location's bytes at atStep (null when unmapped then). */
  value: Uint8Array | null;
  /** Last writers, most recent first, together covering every byte that was written. */
  writes: WriteExplanation[];
  /** Bytes no step wrote before atStep, and where their value comes from. */
  neverWritten: { bytes: [number, number]; source: "image" | "zero" }[];
  chain: ChainLink[];
  /** The calls (and the interrupt) open when the most recent write was made: who called the writer. */
  callPath: CallPath | null;
}

const FRAME_SAME = ["EFLAGS", "CS", "EIP", "error code"];
const FRAME_INNER = ["SS", "ESP", "EFLAGS", "CS", "EIP", "error code"];

export interface WhyWriteOptions {
  chain?: boolean;
  depth?: number;
  /** Reconstruct the call path of the most recent write made by an instruction (call-path.ts). */
  callPath?: boolean;
}

export function whyWrite(ctx: QueryContext, location: Location & { kind: "memory" }, atStep: number, options: WhyWriteOptions = {}): WhyWriteAnswer {
  const { trace } = ctx;
  const { address, size } = location;
  // Writes are found by the physical address the location has at the question's step: earlier steps
  // may map that page differently, or not at all (before paging is on).
  const range = physicalRange(ctx, address, size, atStep);
  // Everything read at atStep is read now, while the replay machine is there: each later move
  // between the write's step and atStep costs a keyframe restore and a re-execution.
  ctx.pointerHints(atStep);
  const value = trace.stateAt(atStep).readLinear(address, size);
  const owner = new Int32Array(size).fill(-1);
  const found: MemoryWrite[] = [];
  let before = atStep;
  let remaining = size;
  while (remaining > 0) {
    const last = trace.lastWrite(range, before);
    if (last === null) break;
    // Every write of that step to the range; within a step, later writes win. When the last one
    // covers every byte still unexplained, the step's other writes cannot matter.
    const same = covers(range, address, last, owner) ? [last] : trace.writesIn(range, last.step, last.step + 1);
    for (let i = same.length - 1; i >= 0; i--) {
      const w = same[i];
      let claimed = false;
      const base = range.space === "physical" ? range.address : address;
      const start = range.space === "physical" ? w.physical >>> 0 : w.linear >>> 0;
      for (let b = 0; b < size; b++) {
        const a = (base + b) >>> 0;
        if (owner[b] < 0 && a >= start && a < start + w.size) {
          owner[b] = found.length;
          remaining--;
          claimed = true;
        }
      }
      if (claimed) found.push(w);
    }
    before = last.step;
  }

  // Each write is described from its own step (one re-execution from a keyframe). The chain's window
  // ends just after the write it starts from: anchoring it at atStep would replay, step by step, every
  // step between the write and the question, which may be millions.
  const writes = found.map((w, i) => explainWrite(ctx, w, spanOf(owner, i), null));
  const neverWritten: WhyWriteAnswer["neverWritten"] = [];
  for (let b = 0; b < size; ) {
    if (owner[b] >= 0) { b++; continue; }
    let e = b;
    while (e < size && owner[e] < 0) e++;
    // Bytes never written that are not zero now were put there before the first step: by the loader
    // (a Linux zero page, a command line, an initrd) when not by the image's own segments.
    const loaded = value !== null && value.subarray(b, e).some((x) => x !== 0);
    neverWritten.push({ bytes: [b, e], source: loaded || inImage(ctx, (address + b) >>> 0) ? "image" : "zero" });
    b = e;
  }
  const chain = options.chain && found.length > 0 ? explainChain(ctx, found[0], new StepWindow(trace, found[0].step + 1), { depth: options.depth }) : [];
  const path = options.callPath && found.length > 0 && found[0].cause === "instruction" ? callPath(ctx, found[0].step) : null;
  return { location, atStep, value: value ? Uint8Array.from(value) : null, writes, neverWritten, chain, callPath: path };
}

/** The location as one physical range at `step` when its pages are mapped contiguously, else linear. */
function physicalRange(ctx: QueryContext, address: number, size: number, step: number): { address: number; size: number; space: "linear" | "physical" } {
  const state = ctx.trace.stateAt(step);
  const first = state.translate(address);
  const last = state.translate((address + size - 1) >>> 0);
  if (first !== null && last !== null && last - first === size - 1) return { address: first, size, space: "physical" };
  return { address, size, space: "linear" };
}

/** Whether write `w` covers every byte of the location that no later write has claimed. */
function covers(range: { address: number; space: "linear" | "physical" }, address: number, w: MemoryWrite, owner: Int32Array): boolean {
  const base = range.space === "physical" ? range.address : address;
  const start = range.space === "physical" ? w.physical >>> 0 : w.linear >>> 0;
  for (let b = 0; b < owner.length; b++) {
    const a = (base + b) >>> 0;
    if (owner[b] < 0 && !(a >= start && a < start + w.size)) return false;
  }
  return true;
}

function spanOf(owner: Int32Array, i: number): [number, number] {
  let lo = -1, hi = -1;
  for (let b = 0; b < owner.length; b++) {
    if (owner[b] === i) {
      if (lo < 0) lo = b;
      hi = b + 1;
    }
  }
  return [lo, hi];
}

/** Whether linear `address` lies in a file-backed part of the image as loaded (else it started as zero). */
export function inImage(ctx: QueryContext, address: number): boolean {
  return (ctx.symbols?.imageBytes(address, 1).length ?? 0) > 0;
}

/** Describes one write: the instruction that made it, or the CPU and what part of a frame it pushed. */
export function explainWrite(ctx: QueryContext, w: MemoryWrite, bytes: [number, number], window: StepWindow | null): WriteExplanation {
  const rec = window?.record(w.step) ?? ctx.trace.describeStep(w.step);
  const base = { step: w.step, address: w.linear >>> 0, physical: w.physical >>> 0, size: w.size, oldValue: w.oldValue >>> 0, newValue: w.newValue >>> 0, bytes };
  if (w.cause === "instruction") {
    return { ...base, writer: { kind: "instruction", code: ctx.describeCode(w.eip, rec?.bytes) } };
  }
  const event = w.cause === "interrupt-frame" ? eventAt(ctx, w.step) : null;
  const activity = event === null ? (w.cause as "task-state" | "descriptor" | "page-table") : event.kind === "interrupt" ? "interrupt" : event.kind === "software-interrupt" ? "software-interrupt" : "exception";
  return {
    ...base,
    writer: {
      kind: "cpu",
      activity: w.cause === "interrupt-frame" ? activity : (w.cause as "task-state" | "descriptor" | "page-table"),
      vector: event?.vector ?? null,
      framePart: event !== null ? framePart(ctx, w, event) : null,
      code: ctx.describeCode(event?.eip ?? w.eip, event === null ? rec?.bytes : undefined),
    },
  };
}

/** The interrupt/exception delivered at `step` (software interrupts are delivered within their instruction's step). */
export function eventAt(ctx: QueryContext, step: number): TraceEvent | null {
  const evs = ctx.trace.events(step, step + 1);
  return evs.find((e) => e.kind !== "fault") ?? null;
}

/** Which word of the interrupt frame a CPU write was, by its place among the frame's writes. */
function framePart(ctx: QueryContext, w: MemoryWrite, event: TraceEvent): string | null {
  const around = ctx.trace.writesIn({ address: ((w.linear >>> 0) - 24) >>> 0, size: 48 }, w.step, w.step + 1).filter((x) => x.cause === "interrupt-frame");
  around.sort((a, b) => (b.linear >>> 0) - (a.linear >>> 0));
  const i = around.findIndex((x) => x.linear === w.linear);
  const names = event.cplBefore !== event.cplAfter ? FRAME_INNER : FRAME_SAME;
  return i >= 0 && i < names.length ? names[i] : null;
}

export { hex };
