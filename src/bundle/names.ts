/**
 * Names of the files stored in a bundle. Opening a bundle writes each entry to `<cache dir>/files/<name>`,
 * so a name is the one thing in a bundle that reaches the file system: it must be a plain relative path
 * that stays inside that folder on every platform. Anything else is refused, never "cleaned up".
 */

const MAX_NAME = 1024;
const MAX_SEGMENT = 255;
/** Names Windows reserves in any folder (with or without an extension). */
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why `name` is not a safe stored name, or null when it is. */
export function checkEntryName(name: string): string | null {
  if (name.length === 0) return "empty name";
  if (name.length > MAX_NAME) return `longer than ${MAX_NAME} characters`;
  if (name.includes("\0")) return "contains a NUL character";
  if (name.includes("\\")) return "contains a backslash";
  if (name.startsWith("/")) return "absolute path";
  if (/^[A-Za-z]:/.test(name)) return "drive letter";
  // Control characters could hide the real name in messages and terminals.
  if (/[\u0000-\u001f\u007f]/.test(name)) return "contains a control character";
  for (const seg of name.split("/")) {
    if (seg === "") return "empty path component";
    if (seg === "." || seg === "..") return `'${seg}' path component`;
    if (seg.length > MAX_SEGMENT) return `a path component is longer than ${MAX_SEGMENT} characters`;
    if (WINDOWS_DEVICES.test(seg)) return `'${seg}' is a reserved device name`;
    if (seg.endsWith(".") || seg.endsWith(" ")) return "a path component ends with a dot or a space";
    if (/[<>:"|?*]/.test(seg)) return "contains a character not allowed in file names on Windows";
  }
  return null;
}

/**
 * The stored name for a source file, from the path its line table names. Relative paths keep their
 * shape under `sources/`; absolute ones go under `sources/_root/`, and `..` components (a file outside
 * the compilation directory) become `_up`, so the name is always safe. Characters Windows forbids are
 * replaced by `_`. The manifest maps the original path to this name, so the name never needs to be
 * turned back into the path.
 */
export function sourceEntryName(path: string): string {
  const absolute = path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
  const parts: string[] = [];
  for (let seg of path.replace(/^[A-Za-z]:/, "").split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") seg = "_up";
    seg = seg.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_");
    if (WINDOWS_DEVICES.test(seg)) seg = `_${seg}`;
    if (seg.endsWith(".") || seg.endsWith(" ")) seg += "_";
    if (seg.length > MAX_SEGMENT) seg = seg.slice(0, MAX_SEGMENT);
    parts.push(seg);
  }
  if (parts.length === 0) parts.push("_");
  return ["sources", ...(absolute ? ["_root"] : []), ...parts].join("/");
}

/** The stored name of the guest ELF (its file name, made safe). */
export function elfEntryName(imageName: string): string {
  const base = imageName.split(/[\\/]/).pop() ?? "";
  const safe = base.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_").replace(/[. ]+$/, "").slice(0, 200);
  const name = `image/${safe === "" || WINDOWS_DEVICES.test(safe) ? "kernel.elf" : safe}`;
  return checkEntryName(name) === null ? name : "image/kernel.elf";
}

export const TRACE_ENTRY = "trace/trace.sqlite";
