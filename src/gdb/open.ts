/**
 * Opening what `ttd gdbserver` serves: a trace file or a bundle, through the project's one opener,
 * and putting the recording's kernel image on disk for gdb's symbols.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { openRecordingArg, type Recording } from "../bundle/open.js";

/** Opens the trace or bundle `arg` names, or the latest recording in ./.ttd. */
export function openReplay(arg: string | undefined, options: { symbols?: string } = {}): Recording {
  return openRecordingArg(arg, { symbols: options.symbols });
}

/** The kernel image written for gdb, and how to remove it (with its folder) when the server stops. */
export interface ImageFile {
  path: string;
  remove(): void;
}

/**
 * A file name for a recorded image name: its last component, with anything outside a portable set
 * replaced. The name comes from the recording, which may be hostile.
 */
export function safeImageName(name: string): string {
  const base = basename(name.replace(/\\/g, "/")).replace(/[^A-Za-z0-9._-]/g, "_");
  return base === "" || /^\.+$/.test(base) ? "kernel.elf" : base;
}

/**
 * Writes a recording's kernel image where gdb can load it for symbols: `<parent>/ttd-gdb-XXXXXX/<name>`
 * (parent: the temporary folder). The recording carries the exact image it ran, so gdb's symbols
 * always match the code being replayed, wherever the original ELF went.
 *
 * Nothing read from the recording picks the folder: it is a fresh one from mkdtemp (mode 0700, created
 * by mkdir, which fails rather than follow a link already at that name), and the file is created
 * exclusively inside it, so a link planted in the temporary folder is never followed.
 */
export function imageFileFor(image: { name: string; data: Uint8Array }, parent = tmpdir()): ImageFile {
  const folder = mkdtempSync(join(parent, "ttd-gdb-"));
  const path = join(folder, safeImageName(image.name));
  try {
    const fd = openSync(path, "wx", 0o644);
    try {
      let done = 0;
      while (done < image.data.length) done += writeSync(fd, image.data, done, image.data.length - done);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    rmSync(folder, { recursive: true, force: true });
    throw e;
  }
  return { path, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
