/** `ttd print`: the value of a C expression (globals, the locals of the code there) as it was at a step. */
import type { Command } from "commander";
import { openForQuery, parseAtStep, SYMBOLS_OPTION_HELP } from "./open-recording.js";
import { UsageError } from "./errors.js";
import { hex } from "../query/context.js";
import { stepEvalContext } from "../query/location.js";
import { symbolsJson } from "../query/render.js";
import { ExpressionEvaluator } from "../symbols/expr-eval.js";
import { ExpressionError } from "../symbols/expr-error.js";
import { formatValue } from "../symbols/format.js";
import { typeName } from "../symbols/types.js";

/** Values larger than this are printed only in part (their first bytes). */
const MAX_PRINT_BYTES = 64 * 1024;

export function registerPrint(program: Command): void {
  program
    .command("print")
    .description("the value of a C expression as it was at a step (pointers followed as they were then)")
    .argument("<expression>", "a C expression over the guest's symbols: globals, the locals and parameters of the code at --at, $registers")
    .option("--trace <file>", "trace or bundle to ask (default: the latest recording in ./.ttd)")
    .option("--symbols <file>", SYMBOLS_OPTION_HELP)
    .option("--at <step>", "the state before this step: a number, 'start', 'fault' (the first faulting instruction) or 'end'", "end")
    .option("--hex", "integers in hexadecimal")
    .option("--json", "print one JSON object: expression, step, type, address (or register), size, value, bytes, error, symbolsNote, symbolsProblem")
    .addHelpText(
      "after",
      `
Structs print one member per line; arrays fold runs of equal elements. Use why-write to ask who wrote
a value, and history for every write to it.

Exit status: 0 when printed (memory the guest could not read then prints as <not readable>); 2 for bad
input (no such trace or a damaged one, an image without symbols, an expression that does not parse or
resolve at that step, an --at that is not a step of the trace).

Examples:
  ttd print ksCurThread --trace traces/idle-bug.ttdb --at fault
  ttd print 'ksIdleThread->tcbArch.tcbContext' --trace traces/idle-bug.ttdb --at fault --hex
  ttd print 'r[Error]' --trace traces/idle-bug.ttdb --at 61876   # restore_user_context's local r
  ttd print '$esp' --trace traces/idle-bug.ttdb --at 61766 --json`,
    )
    .action((expression: string, opts: { trace?: string; symbols?: string; at: string; hex?: boolean; json?: boolean }) => {
      const { recording, ctx } = openForQuery(opts.trace, { symbols: opts.symbols });
      try {
        const at = parseAtStep(ctx, opts.at);
        const di = ctx.symbols;
        if (di === null) throw new UsageError(`cannot evaluate \`${expression}\`: ${ctx.symbolsProblem ?? "the recorded image has no symbols"}`);
        const state = ctx.trace.stateAt(at);
        let r;
        try {
          r = new ExpressionEvaluator(di).evaluate(expression, stepEvalContext(state), { maxReadBytes: MAX_PRINT_BYTES });
        } catch (e) {
          if (e instanceof ExpressionError) throw new UsageError(`${e.message}\n${e.underline(expression)}`);
          throw e;
        }
        const text = r.bytes !== undefined
          ? formatValue(r.type, r.bytes, { symbolize: (a) => di.symbolName(a), complete: (t) => di.complete(t), indent: 2, hex: opts.hex === true, bitOffset: r.bitOffset, bitSize: r.bitSize })
          : null;
        const where = r.address !== undefined ? hex(r.address) : r.register !== undefined ? `$${r.register.name}` : null;
        if (opts.json) {
          const bytes = r.bytes !== undefined ? Buffer.from(r.bytes).toString("hex") : null;
          process.stdout.write(JSON.stringify({
            expression, step: at, type: typeName(r.type), address: r.address !== undefined ? hex(r.address) : null,
            register: r.register?.name ?? null, size: r.size, value: text, bytes, error: r.readError ?? null, ...symbolsJson(ctx),
          }) + "\n");
          return;
        }
        const head = `${expression}  (${typeName(r.type)}${where !== null ? ` at ${where}` : ""}, ${r.size} bytes) at step ${at}`;
        const body = text ?? `<${r.readError ?? (r.size > MAX_PRINT_BYTES ? `larger than ${MAX_PRINT_BYTES} bytes: not printed` : "not readable")}>`;
        process.stdout.write(`${head}\n  = ${body.replace(/\n/g, "\n    ")}\n`);
      } finally {
        recording.close();
      }
    });
}
