/** Text and JSON renderings of `ttd explain` (shared by the CLI, the TUI and gdb's `monitor explain`). */
import type { CodeRef } from "./context.js";
import { hex } from "./context.js";
import type { Explanation } from "./explain.js";
import { codePlace, symbolsRemarkLines, type SymbolsRemarks } from "./render.js";
import { groupDigits } from "../text/group-digits.js";

function codeLine(code: CodeRef): string {
  return `${codePlace(code)}  ${code.disasm}`;
}

function sourceLine(code: CodeRef | null, indent: string): string[] {
  if (code === null || code.sourceText === null || code.line === null) return [];
  return [`${indent}${String(code.line).padStart(5)} | ${code.sourceText.trimEnd()}`];
}

/** The narrative: the crash, each link (explaining the one above it), and the root named plainly. */
export function renderExplanation(e: Explanation, symbols: SymbolsRemarks): string {
  const out: string[] = [];
  out.push(`${e.crash !== null ? "Crash" : "At"}: ${e.summary}`);
  out.push(`    ${codeLine(e.code)}`);
  out.push(...sourceLine(e.code, "    "));
  out.push(...symbolsRemarkLines(symbols));
  if (e.links.length > 0) {
    out.push("");
    out.push("Why (each line explains the one above it):");
    e.links.forEach((l, i) => {
      const mark = i === e.root ? " <- root" : "";
      out.push(`  ${String(i + 1).padStart(2)}. step ${groupDigits(l.step).padEnd(11)} ${l.text}${mark}`);
      if (l.code !== null && l.kind !== "walk" && l.kind !== "input") {
        out.push(`      ${codeLine(l.code)}`);
        out.push(...sourceLine(l.code, "      "));
      }
    });
  }
  out.push("");
  out.push(e.conclusion.charAt(0).toUpperCase() + e.conclusion.slice(1));
  return out.join("\n");
}

/** The stable JSON shape of an explanation (documented in docs/queries.md). */
export function explanationJson(e: Explanation): Record<string, unknown> {
  const code = (c: CodeRef | null) => (c === null ? null : { eip: hex(c.eip), function: c.function, symbol: c.symbol, file: c.file, line: c.line, disasm: c.disasm });
  return {
    step: e.step,
    crash: e.crash === null ? null : { step: e.crash.step, vector: e.crash.vector, errorCode: e.crash.errorCode === null ? null : hex(e.crash.errorCode), eip: hex(e.crash.eip), reason: e.crash.reason },
    summary: e.summary,
    code: code(e.code),
    input: e.input === null ? null : { text: e.input.text, value: e.input.value === null ? null : hex(e.input.value), role: e.input.role, subject: e.input.subject === null ? null : e.input.subject.kind === "memory" ? { kind: "memory", address: hex(e.input.subject.address), size: e.input.subject.size, step: e.input.subject.step } : { kind: "register", register: e.input.subject.register, step: e.input.subject.step } },
    links: e.links.map((l, i) => ({ kind: l.kind, step: l.step, text: l.text, root: i === e.root, code: code(l.code) })),
    root: e.root >= 0 ? e.root : null,
    conclusion: e.conclusion,
  };
}
