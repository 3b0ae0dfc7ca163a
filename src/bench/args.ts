/**
 * The command-line parser of the bench scripts (main.ts, lockstep.ts, linux-lockstep.ts): options
 * with a value, with an optional value, or with none, and at most one operand. Problems are thrown
 * as Errors whose message the script prints above its usage text before it exits with status 2.
 */

export interface FlagSpec {
  /** Options that take the next word as their value; `flag` is the option as written. */
  values?: Record<string, (value: string, flag: string) => void>;
  /** Options that take the next word as their value only when `takes` accepts it. */
  optional?: Record<string, { takes: (next: string) => boolean; set: (value: string | undefined) => void }>;
  /** Options that take no value. */
  switches?: Record<string, () => void>;
  /** What the one operand is (said in "no kernel given"); without it the command takes no operand. */
  operand?: string;
}

export type Parsed = { help: true } | { help: false; operand: string | undefined };

/**
 * Parses `argv` against `spec`. `-h` or `--help` stops parsing and returns `{ help: true }`. A missing
 * operand, a second one, an unknown option or an option without its value is an Error.
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec): Parsed {
  let operand: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const withValue = spec.values?.[a];
    const withOptional = spec.optional?.[a];
    const without = spec.switches?.[a];
    if (withValue) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      withValue(v, a);
    } else if (withOptional) {
      const next = argv[i + 1];
      if (next !== undefined && withOptional.takes(next)) {
        withOptional.set(next);
        i++;
      } else {
        withOptional.set(undefined);
      }
    } else if (without) {
      without();
    } else if (a === "-h" || a === "--help") {
      return { help: true };
    } else if (spec.operand === undefined) {
      throw new Error(`unknown argument ${a}`);
    } else if (a.startsWith("-")) {
      throw new Error(`unknown option ${a}`);
    } else if (operand === undefined) {
      operand = a;
    } else {
      throw new Error(`unexpected argument ${a}`);
    }
  }
  if (spec.operand !== undefined && operand === undefined) throw new Error(`no ${spec.operand} given`);
  return { help: false, operand };
}
