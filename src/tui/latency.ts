/**
 * Per-key latency of the debugger on a recording: each key is fed to a view model, any job it starts
 * is waited for, and the screen is rendered to a string at 100x30, as the terminal UI does after a key.
 * Prints the median and worst time per key. A measurement to run by hand (timings never fail tests):
 *
 *   node dist/tui/latency.js TRACE [--at STEP] [--reps N]
 */
import { createElement } from "react";
import { renderToString } from "ink";
import { openRecordingArg } from "../bundle/open.js";
import { disassemble } from "../disasm/disassembler.js";
import { Screen } from "./app.js";
import { DebuggerViewModel, fmt } from "./view-model.js";

export interface KeyLatency {
  key: string;
  samples: number;
  medianMs: number;
  worstMs: number;
  /** Of the samples, how many did more than a plain step (a call stepped over, a line reached...). */
  note: string;
}

/** Measures `reps` presses of each key on `vm`, from where it stands (keys move it as they go). */
export async function measureKeys(vm: DebuggerViewModel, reps: number): Promise<KeyLatency[]> {
  const out: KeyLatency[] = [];
  const last = vm.trace.steps;
  // A fixed linear congruential sequence picks the go-to targets: the same steps on every run.
  let seed = 12345;
  const nextTarget = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return vm.trace.startStep + (seed % Math.max(1, last - vm.trace.startStep));
  };
  const time = async (press: () => void) => {
    const t0 = performance.now();
    press();
    await vm.idle();
    renderToString(createElement(Screen, { view: vm.view, columns: 100, rows: 30 }), { columns: 100 });
    return performance.now() - t0;
  };
  for (const key of ["n", "p", "g", "o", "l"]) {
    const ms: number[] = [];
    let notable = 0;
    for (let i = 0; i < reps; i++) {
      const before = vm.position;
      if (key === "g") {
        // The prompt's keystrokes are cheap; the Enter that moves is what is timed.
        for (const c of `g${nextTarget()}`) vm.key(c);
        ms.push(await time(() => vm.key("", { return: true })));
      } else {
        ms.push(await time(() => vm.key(key)));
      }
      if ((key === "o" || key === "l") && vm.position - before > 1) notable++;
    }
    ms.sort((a, b) => a - b);
    const note = key === "o" ? `${notable} stepped over a call` : key === "l" ? `${notable} crossed more than one step` : "";
    out.push({ key, samples: ms.length, medianMs: ms[Math.floor(ms.length / 2)], worstMs: ms[ms.length - 1], note });
  }
  // Step over where it does work: `o` on a call (found with a cursor, untimed), then `O` right after
  // its return, which goes back to that call.
  const over: number[] = [];
  const back: number[] = [];
  let longest = 0;
  for (let i = 0; i < reps; i++) {
    const cursor = vm.trace.cursor(vm.position);
    let call: number | null = null;
    // Optimised guests may inline every call: look a bounded distance ahead only.
    for (let rec = cursor.next(); rec !== null && rec.step < vm.position + 1_000_000; rec = cursor.next()) {
      if (rec.kind === "instruction" && /^call\b/.test(disassemble(rec.bytes, rec.regs.eip).text)) {
        call = rec.step;
        break;
      }
    }
    if (call === null) break;
    vm.goTo(call);
    over.push(await time(() => vm.key("o")));
    longest = Math.max(longest, vm.position - call);
    back.push(await time(() => vm.key("O")));
    vm.goTo(vm.position + 1);
  }
  for (const [key, ms, note] of [["o at a call", over, `longest call stepped over: ${fmt(longest)} steps`], ["O after its ret", back, ""]] as const) {
    const sorted = [...ms].sort((a, b) => a - b);
    if (sorted.length > 0) out.push({ key, samples: sorted.length, medianMs: sorted[Math.floor(sorted.length / 2)], worstMs: sorted[sorted.length - 1], note });
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const path = argv[0];
  if (path === undefined) throw new Error("usage: node dist/tui/latency.js TRACE [--at STEP] [--reps N]");
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const recording = openRecordingArg(path, { cwd: process.cwd() });
  try {
    const at = opt("--at") !== undefined ? Number(opt("--at")) : Math.floor(recording.trace.steps / 2);
    const reps = Number(opt("--reps") ?? 50);
    const vm = new DebuggerViewModel(recording, at);
    // The first view pays for opening symbols and the event list: not a key.
    renderToString(createElement(Screen, { view: vm.view, columns: 100, rows: 30 }), { columns: 100 });
    console.log(`${path}: ${fmt(recording.trace.steps)} steps, from step ${fmt(at)}, ${reps} presses per key`);
    for (const r of await measureKeys(vm, reps)) {
      console.log(`  ${r.key}  median ${r.medianMs.toFixed(1)} ms  worst ${r.worstMs.toFixed(1)} ms${r.note !== "" ? `  (${r.note})` : ""}`);
    }
    vm.dispose();
  } finally {
    recording.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
