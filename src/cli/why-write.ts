/** `ttd why-write`: the last write to a location before a step, who made it, and why it landed there. */
import type { Command } from "commander";
import { openForQuery, parseAtStep, SYMBOLS_OPTION_HELP } from "./open-recording.js";
import { parsePositiveInt, UsageError } from "./errors.js";
import { LocationError, resolveLocation } from "../query/location.js";
import { whyWrite } from "../query/why-write.js";
import { codePlace, renderWhyWrite, symbolsJson, whyWriteJson } from "../query/render.js";
import { hex } from "../query/context.js";

export function registerWhyWrite(program: Command): void {
  program
    .command("why-write")
    .description("who last wrote a memory location (or register) before a step, and why it landed there")
    .argument("<location>", "an address (0xe010f624), a $register ($esp) or a C expression over the guest's symbols (globals, and the locals of the code at --at)")
    .option("--trace <file>", "trace or bundle to ask (default: the latest recording in ./.ttd)")
    .option("--symbols <file>", SYMBOLS_OPTION_HELP)
    .option("--at <step>", "ask about the state before this step: a number, 'start', 'fault' (the first faulting instruction) or 'end'", "end")
    .option("--size <bytes>", "bytes to watch (default: the expression's type size, or 4 for an address)")
    .option("--chain", "explain why the write landed there, step by step back through the trace")
    .option("--depth <n>", "most links in the chain", "8")
    .option("--json", "print one JSON object (see docs/queries.md for its fields)")
    .addHelpText(
      "after",
      `
Locations are evaluated at the --at step, so pointers are followed as they were then. A write is
reported with its step, the instruction (function+offset, file:line, disassembly) or the CPU event that
made it (e.g. an interrupt frame push, naming the word pushed), old and new values. Bytes never written
in the trace say whether their value came from the loaded image or zeroed memory. The most recent write
made by an instruction also gets its call path: the calls open when it ran, innermost first, back to the
interrupt or exception that led there, rebuilt from the trace's own calls and returns (no frame
pointers or debug information needed).

Exit status: 0 when answered (a location never written in the trace is an answer too); 2 for bad input
(no such trace or a damaged one, a location that does not parse or resolve at that step, an --at that
is not a step of the trace, 'fault' in a trace without one, a bad --size or --depth).

Examples:
  ttd why-write 'ksIdleThread->tcbArch.tcbContext.registers[Error]' --trace traces/idle-bug.ttdb --at fault --chain
  ttd why-write 0xe010f624 --size 4 --trace traces/idle-bug.ttdb --chain
  ttd why-write '$esp' --trace traces/idle-bug.ttdb --at 61766     # the last step that changed a register
  ttd why-write 'r[Error]' --trace traces/idle-bug.ttdb --at 61876  # restore_user_context's local r`,
    )
    .action((location: string, opts: { trace?: string; symbols?: string; at: string; size?: string; chain?: boolean; depth: string; json?: boolean }) => {
      const { recording, ctx } = openForQuery(opts.trace, { symbols: opts.symbols });
      try {
        const at = parseAtStep(ctx, opts.at);
        const size = opts.size !== undefined ? parsePositiveInt(opts.size, "--size", 4096) : undefined;
        const depth = parsePositiveInt(opts.depth, "--depth", 100);
        let loc;
        try {
          loc = resolveLocation(ctx, location, at, size);
        } catch (e) {
          if (e instanceof LocationError) throw new UsageError(e.underline ? `${e.message}\n${e.underline}` : e.message);
          throw e;
        }
        if (loc.kind === "register") {
          printRegisterAnswer(ctx, loc.register, at, opts.json === true, loc.expression);
          return;
        }
        const answer = whyWrite(ctx, loc, at, { chain: opts.chain === true, depth, callPath: true });
        if (opts.json) process.stdout.write(JSON.stringify({ ...whyWriteJson(answer), ...symbolsJson(ctx) }) + "\n");
        else process.stdout.write(renderWhyWrite(answer, ctx) + "\n");
      } finally {
        recording.close();
      }
    });
}

/**
 * The answer for a register: `$esp` itself, or a variable the compiler keeps in one at that step
 * (`expression` then names it, and says so first).
 */
function printRegisterAnswer(ctx: import("../query/context.js").QueryContext, register: string, at: number, json: boolean, expression: string): void {
  const change = ctx.trace.lastRegisterChange(register, at);
  const value = (ctx.trace.stateAt(at).regs as unknown as Record<string, number>)[register];
  const variable = expression.trim().startsWith("$") ? null : expression.trim();
  const head = variable !== null ? [`${variable} is in register ${register} at step ${at}`] : [];
  if (change === null) {
    if (json) process.stdout.write(JSON.stringify({ register, expression, step: at, value: hex(value), change: null, ...symbolsJson(ctx) }) + "\n");
    else process.stdout.write([...head, `$${register} = ${hex(value)} at step ${at}; it has not changed since the trace began.`].join("\n") + "\n");
    return;
  }
  const rec = ctx.trace.describeStep(change.step);
  const code = ctx.describeCode(rec?.regs.eip ?? 0, rec?.bytes);
  if (json) {
    process.stdout.write(JSON.stringify({ register, expression, step: at, value: hex(value), change: { step: change.step, kind: rec?.kind ?? null, before: hex(change.before), after: hex(change.after), eip: hex(code.eip), function: code.function, file: code.file, line: code.line, disasm: code.disasm }, ...symbolsJson(ctx) }) + "\n");
    return;
  }
  const lines = [
    ...head,
    `$${register} = ${hex(value)} at step ${at}`,
    `Last changed at step ${change.step}: ${hex(change.before)} -> ${hex(change.after)} by ${rec?.kind === "instruction" ? `\`${code.disasm}\`` : `the CPU (${rec?.kind}, vector ${rec?.vector})`}`,
    `    ${codePlace(code)}`,
  ];
  if (code.sourceText !== null) lines.push(`    ${String(code.line).padStart(5)} | ${code.sourceText.trimEnd()}`);
  process.stdout.write(lines.join("\n") + "\n");
}
