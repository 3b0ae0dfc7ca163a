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

/** Errors reported as one line with exit status 2: bad input, or a trace/bundle that cannot answer. */
export function isBadInput(e: unknown): e is Error {
  return e instanceof UsageError || (e instanceof Error && (e.name === "TraceError" || e.name === "BundleError"));
}

/**
 * The errno name of a file-system failure (`ENOENT`, ...), or undefined when `e` is not one. Errors
 * from the trace writer's thread arrive as plain messages ("EACCES: permission denied, open ..."), so
 * the name is also read from the message's start.
 */
export function fsErrorCode(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  return /^(E[A-Z]+):/.exec(e.message)?.[1];
}

/** Why a file-system call failed, in words (`code` from Node's error), for one-line messages. */
export function fsProblem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (fsErrorCode(e)) {
    case "ENOENT": return "no such folder";
    case "ENOTDIR": return "a parent is not a folder";
    case "EACCES": case "EPERM": return "permission denied";
    case "EROFS": return "read-only file system";
    case "ENOSPC": return "no space left on the device";
    case "EDQUOT": return "disk quota exceeded";
    case "EISDIR": return "is a directory";
    case "ENAMETOOLONG": return "file name too long";
    default: return err.message ?? String(e);
  }
}
