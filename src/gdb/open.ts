/**
 * Opening what `ttd gdbserver` serves: a trace file or a bundle, through the project's one opener,
 * and putting the recording's kernel image on disk for gdb's symbols.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { openRecordingArg, type Recording } from "../bundle/open.js";

/** Opens the trace or bundle `arg` names, or the latest recording in ./.ttd. */
export function openReplay(arg: string | undefined): Recording {
  return openRecordingArg(arg);
}

/**
 * Writes a recording's kernel image where gdb can load it for symbols, and returns the path:
 * `<dir>/<sha256 prefix>/<image name>` (dir: `<tmp>/ttd-gdb`). The recording carries the exact
 * image it ran, so gdb's symbols always match the code being replayed, wherever the original ELF
 * went. A file already there with the same bytes is reused.
 */
export function imageFileFor(image: { name: string; sha256: string; data: Uint8Array }, dir = join(tmpdir(), "ttd-gdb")): string {
  const name = basename(image.name || "kernel.elf").replace(/[^A-Za-z0-9._-]/g, "_") || "kernel.elf";
  const folder = join(dir, image.sha256.slice(0, 16));
  const path = join(folder, name);
  try {
    if (statSync(path).size === image.data.length && sameBytes(readFileSync(path), image.data)) return path;
  } catch {
    // not there yet
  }
  mkdirSync(folder, { recursive: true });
  // Written under a temporary name first, so a gdb started meanwhile never reads half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, image.data, { mode: 0o644 });
  renameSync(tmp, path);
  return path;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
