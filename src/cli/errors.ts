/** Errors the CLI reports as one line naming the input, with exit status 2 ("bad input"). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const EXIT_BAD_INPUT = 2;

/** Parses a positive integer option, or throws a UsageError naming the option. */
export function parsePositiveInt(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  const cleaned = value.replace(/_/g, "");
  if (!/^[0-9]+$/.test(cleaned)) throw new UsageError(`${option} expects a positive integer, got '${value}'`);
  const n = Number(cleaned);
  if (n <= 0 || n > max) throw new UsageError(`${option} must be between 1 and ${max}, got ${value}`);
  return n;
}
