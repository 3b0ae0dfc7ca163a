/** `ttd diff`: the first point where two recordings' executions part, in source terms. */
import type { Command } from "commander";
import { openForQuery } from "./open-recording.js";
import { diffRecordings, type DataSource, type DiffAnswer, type DiffInput, type DiffSide } from "../query/diff.js";
import { parsePositiveInt } from "./errors.js";
import { hex } from "../query/context.js";
import { codePlace } from "../query/render.js";
import { groupDigits } from "../text/group-digits.js";

export function registerDiff(program: Command): void {
  program
    .command("diff")
    .description("the first point where two recordings' executions part: control flow, a register, an event or output")
    .argument("<a>", "first trace or bundle")
    .argument("<b>", "second trace or bundle")
    .option("--context <n>", "common points shown before the divergence (steps for one image, source visits for two)", "1")
    .option("--json", "print one JSON object (see docs/queries.md for its fields)")
    .addHelpText(
      "after",
      `
Two recordings of the same image are compared step by step (EIP, general registers, EFLAGS, events).
Two different images (the same kernel built two ways, a good and a bad commit) are compared by their
sequences of source lines and events, not by addresses, and their stores by the global variable they
write (each line's first store to each variable). The answer shows the last common point and
the first divergence on both sides (step, function, file:line, disassembly), the first byte of guest
output that differs, and the first input from outside that differs (two runs of one kernel given
different input with --input-file or typed). When one image's registers part first (the same code,
other data), the answer names what the step before read that differed (a port such as the UART's
receive buffer, or memory) and where control flow parts later, if it does.

Examples:
  ttd diff traces/idle-bug.ttdb traces/idle-fixed.ttdb
  ttd diff traces/idle-bug.ttdb traces/idle-fixed.ttdb --json
  ttd diff traces/idle-bug.ttdb traces/idle-fixed.ttdb --context 5

Exit status: 0 when compared (whether they agree or not: the answer says which); 2 for bad input (a
missing, damaged or non-trace file, a --context that is not a positive number); 1 only for an
internal error.`,
    )
    .action((aArg: string, bArg: string, opts: { json?: boolean; context: string }) => {
      const context = parsePositiveInt(opts.context, "--context", 1000);
      const a = openForQuery(aArg);
      try {
        const b = openForQuery(bArg);
        try {
          const d = diffRecordings(a.ctx, b.ctx, { context });
          if (opts.json) process.stdout.write(JSON.stringify(diffJson(d)) + "\n");
          else process.stdout.write(renderDiff(d, aArg, bArg) + "\n");
        } finally {
          b.recording.close();
        }
      } finally {
        a.recording.close();
      }
    });
}

function describe(s: DiffSide | null): string[] {
  if (s === null) return ["(the recording has ended)"];
  const c = s.code;
  const where = codePlace(c);
  const what = s.kind === "instruction" ? c.disasm : `${s.kind} ${s.vector ?? "?"} (during ${c.disasm})`;
  const out = [`step ${groupDigits(s.step)}  ${where}  ${what}`];
  if (c.sourceText !== null && c.line !== null) out.push(`  ${String(c.line).padStart(5)} | ${c.sourceText.trimEnd()}`);
  if (s.registers.length > 0) out.push(`  ${s.registers.map((r) => `${r.name}=${hex(r.value)}`).join(" ")}`);
  return out;
}

function renderDiff(d: DiffAnswer, aName: string, bName: string): string {
  const out: string[] = [];
  out.push(d.alignment === "step" ? "Same image: compared step by step." : "Different images: compared by source lines and events.");
  if (d.divergence === null) {
    out.push(`The executions agree over all ${groupDigits(d.compared.a)} steps.`);
  } else {
    if (d.context.length > 0) {
      out.push("", d.context.length === 1 ? "Last common point:" : `Last ${d.context.length} common points, oldest first:`);
      for (const c of d.context) {
        for (const l of describe(c.a)) out.push(`  A ${l}`);
        for (const l of describe(c.b)) out.push(`  B ${l}`);
      }
    } else {
      out.push("", "They differ from the first step.");
    }
    out.push("", `First divergence: ${d.divergence.what}`);
    for (const l of describe(d.divergence.a)) out.push(`  A ${l}`);
    for (const l of describe(d.divergence.b)) out.push(`  B ${l}`);
    const store = d.divergence.store;
    if (store !== null) {
      const bytes = `${store.size} byte${store.size === 1 ? "" : "s"}`;
      out.push(store.address === store.addressB
        ? `  It stores ${hex(store.a)} on A, ${hex(store.b)} on B (${bytes} at ${hex(store.address)}${store.variable !== null ? `, ${store.variable}` : ""}).`
        : `  It stores ${hex(store.a)} on A, ${hex(store.b)} on B to ${store.variable ?? "the same variable"} (${bytes} at ${hex(store.address)} on A, ${hex(store.addressB)} on B).`);
    }
    if (d.divergence.source !== null) out.push(`  ${sourceText(d.divergence.source, d.divergence.a?.step ?? -1)}`);
    if (d.flow !== null) {
      out.push("", `Then: ${d.flow.what}`);
      for (const l of describe(d.flow.a)) out.push(`  A ${l}`);
      for (const l of describe(d.flow.b)) out.push(`  B ${l}`);
    } else if (d.flowSearch !== null) {
      out.push("", d.flowSearch.complete
        ? `Control flow never parts: the two executions run the same ${d.alignment === "step" ? "instructions" : "source lines"} to the end.`
        : `Control flow does not part in the ${groupDigits(d.flowSearch.steps)} steps after it (the comparison stops there).`);
    }
  }
  if (d.output !== null) {
    const o = d.output;
    const byte = (x: { step: number; byte: number } | null) => (x === null ? "nothing (output ended)" : `${JSON.stringify(String.fromCharCode(x.byte))} at step ${groupDigits(x.step)}`);
    out.push("", `Guest output differs at byte ${o.offset}: A printed ${byte(o.a)}, B printed ${byte(o.b)}.`);
  }
  if (d.input !== null) {
    const i = d.input;
    out.push("", `Input differs at input ${i.index + 1}: A took ${inputText(i.a)}, B took ${inputText(i.b)}.`);
  }
  out.push("", `A: ${aName}`, `B: ${bName}`);
  return out.join("\n");
}

/** "The values come from step 2,728, the step before: it read 0x39 from port 0x3f8 on A, 0x38 on B." */
function sourceText(s: DataSource, divergenceStep: number): string {
  const from = s.kind === "port" ? `port ${hex(s.address)}` : `memory at ${hex(s.address)} (${s.size} byte${s.size === 1 ? "" : "s"})`;
  const which = s.step === divergenceStep ? "this step" : "the step before";
  return `The values come from step ${groupDigits(s.step)}, ${which}: it read ${hex(s.a)} from ${from} on A, ${hex(s.b)} on B.`;
}

function inputText(i: DiffInput | null): string {
  if (i === null) return "nothing (its input had ended)";
  const text = i.data.every((b) => b >= 0x20 && b < 0x7f) ? ` ${JSON.stringify(String.fromCharCode(...i.data))}` : "";
  return `${i.data.map((b) => hex(b)).join(" ")}${text} on ${i.device} at step ${groupDigits(i.step)}`;
}

/** The stable JSON shape of a diff (documented in docs/queries.md). */
export function diffJson(d: DiffAnswer): unknown {
  const sideJson = (s: DiffSide | null) =>
    s === null ? null : { step: s.step, kind: s.kind, vector: s.vector, eip: hex(s.code.eip), function: s.code.function, symbol: s.code.symbol, file: s.code.file, line: s.code.line, disasm: s.code.disasm, registers: Object.fromEntries(s.registers.map((r) => [r.name, hex(r.value)])) };
  return {
    alignment: d.alignment,
    common: d.common === null ? null : { a: sideJson(d.common.a), b: sideJson(d.common.b) },
    context: d.context.map((c) => ({ a: sideJson(c.a), b: sideJson(c.b) })),
    divergence: d.divergence === null ? null : {
      what: d.divergence.what,
      a: sideJson(d.divergence.a),
      b: sideJson(d.divergence.b),
      store: d.divergence.store === null ? null : { ...d.divergence.store, address: hex(d.divergence.store.address), addressB: hex(d.divergence.store.addressB), a: hex(d.divergence.store.a), b: hex(d.divergence.store.b) },
      source: d.divergence.source === null ? null : { ...d.divergence.source, address: hex(d.divergence.source.address), a: hex(d.divergence.source.a), b: hex(d.divergence.source.b) },
    },
    flow: d.flow === null ? null : { what: d.flow.what, a: sideJson(d.flow.a), b: sideJson(d.flow.b) },
    flowSearch: d.flowSearch,
    output: d.output,
    input: d.input,
    compared: d.compared,
  };
}
