/** Text and JSON renderings of backward answers (shared by the CLI, `ttd demo` and the TUI). */
import type { CodeRef } from "./context.js";
import { hex } from "./context.js";
import type { ChainLink } from "./chain.js";
import type { WhyWriteAnswer, WriteExplanation } from "./why-write.js";
import type { CallFrame, CallPath } from "./call-path.js";
import { groupDigits } from "../text/group-digits.js";

const n = (v: number) => groupDigits(v);

/** Little-endian value of up to 4 bytes, or hex bytes for larger locations. */
export function formatBytes(bytes: Uint8Array | null): string {
  if (bytes === null) return "(unmapped)";
  if (bytes.length <= 4) {
    let v = 0;
    for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i];
    return hex(v);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function codeLine(code: CodeRef): string {
  return `${codePlace(code)}  ${code.disasm}`;
}

/**
 * Where code is in the source: `file:line`, `file (no line)`, or `(no source line)`; empty when the
 * symbols have no source lines at all (a System.map), where saying so on every line is only noise.
 */
export function sourcePlace(code: Pick<CodeRef, "file" | "line" | "linesKnown">): string {
  if (code.file !== null) return code.line !== null ? `${code.file}:${code.line}` : `${code.file} (no line)`;
  return code.linesKnown ? "(no source line)" : "";
}

/** `probe_main+0x7b  probe.c:12`: the code's name and its source place (see sourcePlace). */
export function codePlace(code: CodeRef): string {
  const where = sourcePlace(code);
  return where === "" ? codeName(code) : `${codeName(code)}  ${where}`;
}

/** `probe_main+0x7b`, and the source function when the code was inlined from another one. */
export function codeName(code: CodeRef): string {
  const sym = code.symbol ?? hex(code.eip);
  const base = sym.replace(/[+-]0x[0-9a-f]+$/, "");
  return code.function !== null && code.function !== base ? `${sym} [inlined ${code.function}]` : sym;
}

function sourceLine(code: CodeRef | null, indent: string): string[] {
  if (code === null || code.sourceText === null || code.line === null) return [];
  return [`${indent}${String(code.line).padStart(5)} | ${code.sourceText.trimEnd()}`];
}

export function describeWriter(w: WriteExplanation): string {
  const wr = w.writer;
  if (wr.kind === "instruction") return `\`${wr.code.disasm}\` in ${codeName(wr.code)}`;
  if (wr.activity === "interrupt" || wr.activity === "exception" || wr.activity === "software-interrupt") {
    const what = wr.activity === "interrupt" ? "an external interrupt" : wr.activity === "exception" ? "an exception" : "a software interrupt";
    return `the CPU delivering ${what}, vector ${wr.vector} (${hex(wr.vector ?? 0)}), pushing the ${wr.framePart ?? "frame"}${wr.framePart === "EIP" ? " of the interrupted code" : ""}`;
  }
  const what = { "task-state": "updating the TSS", descriptor: "setting a descriptor's accessed bit", "page-table": "setting page-table accessed/dirty bits" }[wr.activity];
  return `the CPU ${what}`;
}

/** What a text answer says about its symbols: why source lines are missing, and a note (see QueryContext). */
export interface SymbolsRemarks {
  readonly symbolsProblem: string | null;
  readonly symbolsNote: string | null;
}

/** The note lines a text answer carries about its symbols. */
export function symbolsRemarkLines(s: SymbolsRemarks): string[] {
  return [
    ...(s.symbolsNote !== null ? [`  note: ${s.symbolsNote}`] : []),
    ...(s.symbolsProblem !== null ? [`  note: source lines unavailable: ${s.symbolsProblem}`] : []),
  ];
}

/**
 * The same remarks in a `--json` answer: `symbolsNote` (a System.map or vmlinux slid to where KASLR
 * moved the kernel) and `symbolsProblem` (why there are no source lines), each null when there is none.
 */
export function symbolsJson(s: SymbolsRemarks): { symbolsNote: string | null; symbolsProblem: string | null } {
  return { symbolsNote: s.symbolsNote, symbolsProblem: s.symbolsProblem };
}

export function renderWhyWrite(a: WhyWriteAnswer, symbols: SymbolsRemarks): string {
  const out: string[] = [];
  const loc = a.location;
  const named = loc.name && loc.name !== loc.expression ? ` (${loc.name})` : "";
  out.push(`${loc.expression}`);
  out.push(`  = ${hex(loc.address)}, ${loc.size} byte${loc.size === 1 ? "" : "s"}${named}; at step ${n(a.atStep)} it holds ${formatBytes(a.value)}`);
  out.push(...symbolsRemarkLines(symbols));
  out.push("");
  if (a.writes.length === 0) {
    out.push(`Never written before step ${n(a.atStep)}: its value ${a.neverWritten.some((x) => x.source === "image") ? "comes from the loaded image" : "is the zero the machine started with"}.`);
  }
  for (const w of a.writes) {
    const part = a.writes.length > 1 || w.bytes[0] !== 0 || w.bytes[1] !== loc.size ? ` (bytes ${w.bytes[0]}..${w.bytes[1] - 1})` : "";
    out.push(`Last written${part} at step ${n(w.step)} by ${describeWriter(w)}:`);
    out.push(`    ${hex(w.oldValue)} -> ${hex(w.newValue)}  (${w.size}-byte write at ${hex(w.address)})`);
    const code = w.writer.code;
    out.push(`    ${w.writer.kind === "cpu" ? "interrupted code: " : ""}${codeLine(code)}`);
    out.push(...sourceLine(code, "    "));
    if (a.callPath !== null && a.callPath.step === w.step) out.push(...renderCallPath(a.callPath, "    "));
  }
  for (const nw of a.neverWritten) {
    if (a.writes.length === 0) break;
    out.push(`Bytes ${nw.bytes[0]}..${nw.bytes[1] - 1} were never written: their value ${nw.source === "image" ? "comes from the loaded image" : "is the machine's initial zero"}.`);
  }
  if (a.chain.length > 0) {
    out.push("");
    out.push("Why there (each step explains the one above it):");
    out.push(...renderChain(a.chain));
  }
  return out.join("\n");
}

/** What opened a frame of a call path, in words. */
function frameText(f: CallFrame): string {
  if (f.kind === "call") return `${codeName(f.site)}`;
  if (f.kind === "syscall") {
    const via = f.via === "sysenter" ? "sysenter" : `int ${hex(f.vector ?? 0)}`;
    return `syscall via ${via} from user EIP ${hex(f.site.eip)} (${codeName(f.site)})`;
  }
  if (f.external) return `an external interrupt, vector ${f.vector} (${hex(f.vector)}), interrupting ${codeName(f.site)}`;
  return `an exception or int n, vector ${f.vector} (${hex(f.vector)}), at ${codeName(f.site)}`;
}

/** The call path as indented lines: the callers of the code at its step, innermost first. */
export function renderCallPath(p: CallPath, indent: string): string[] {
  if (p.frames.length === 0 && p.end !== "searched") return [];
  const out = [`${indent}called from (innermost first; the step each call or delivery happened at):`];
  const width = Math.max(...p.frames.map((f) => n(f.step).length), 1);
  const where = (c: CodeRef) => (c.file !== null && c.line !== null ? `  ${c.file}:${c.line}` : "");
  const line = (step: number, text: string) => `${indent}  step ${n(step).padStart(width)}  ${text}`;
  for (const f of p.frames) {
    // The frame's tail calls, latest first: each names the function it entered and the jump's place.
    if (f.kind === "call") {
      for (let i = f.tailCalls.length - 1; i >= 0; i--) {
        const t = f.tailCalls[i];
        out.push(line(t.step, `${t.name} (tail-called from ${codeName(t.site)})${where(t.site)}`));
      }
    }
    out.push(line(f.step, frameText(f) + where(f.site)));
  }
  if (p.end === "searched") out.push(`${indent}  (callers entered before step ${n(p.searchedFrom)} were not searched for)`);
  else if (p.end === "depth") out.push(`${indent}  (more callers not shown)`);
  return out;
}

export function renderChain(chain: ChainLink[]): string[] {
  const out: string[] = [];
  chain.forEach((l, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. step ${n(l.step).padEnd(11)} ${l.text}`);
    if (l.code !== null && l.kind !== "stack-walk") {
      out.push(`      ${codeLine(l.code)}`);
      out.push(...sourceLine(l.code, "      "));
    }
  });
  return out;
}

/** The stable JSON shape of a why-write answer (documented in docs/queries.md). */
export function whyWriteJson(a: WhyWriteAnswer): Record<string, unknown> {
  const code = (c: CodeRef | null) => (c === null ? null : { eip: hex(c.eip), function: c.function, symbol: c.symbol, file: c.file, line: c.line, disasm: c.disasm });
  return {
    location: { address: hex(a.location.address), size: a.location.size, expression: a.location.expression, name: a.location.name },
    step: a.atStep,
    value: formatBytes(a.value),
    writes: a.writes.map((w) => ({
      step: w.step,
      kind: w.writer.kind === "instruction" ? "instruction" : w.writer.activity,
      vector: w.writer.kind === "cpu" ? w.writer.vector : null,
      framePart: w.writer.kind === "cpu" ? w.writer.framePart : null,
      address: hex(w.address),
      size: w.size,
      bytes: w.bytes,
      old: hex(w.oldValue),
      new: hex(w.newValue),
      ...code(w.writer.code),
    })),
    neverWritten: a.neverWritten,
    callPath: a.callPath === null ? null : callPathJson(a.callPath),
    chain: a.chain.map((l) => ({
      step: l.step,
      kind: l.kind,
      explains: l.explains,
      register: l.register,
      before: l.before === null ? null : hex(l.before),
      after: l.after === null ? null : hex(l.after),
      valueName: l.valueName,
      text: l.text,
      ...(code(l.code) ?? { eip: null, function: null, symbol: null, file: null, line: null, disasm: null }),
      ...(l.count !== undefined ? { count: l.count, firstStep: l.firstStep } : {}),
    })),
  };
}

/** The JSON shape of a call path (docs/queries.md). */
export function callPathJson(p: CallPath): unknown {
  return {
    step: p.step,
    end: p.end,
    searchedFrom: p.searchedFrom,
    frames: p.frames.map((f) => ({
      kind: f.kind,
      step: f.step,
      vector: f.kind === "call" ? null : f.vector,
      external: f.kind === "delivery" ? f.external : null,
      via: f.kind === "syscall" ? f.via : null,
      tailCalls: f.kind === "call" ? f.tailCalls.map((t) => ({ step: t.step, entry: hex(t.entry), function: t.name, eip: hex(t.site.eip), symbol: t.site.symbol })) : [],
      entry: hex(f.entry),
      eip: hex(f.site.eip),
      function: f.site.function,
      symbol: f.site.symbol,
      file: f.site.file,
      line: f.site.line,
      disasm: f.site.disasm,
    })),
  };
}
