/**
 * The disk options of `ttd run` and `ttd record`, in QEMU's spelling: `--hda FILE`, `--hdb FILE` and
 * `--drive file=F,index=N[,format=raw][,snapshot=on|off][,if=ide][,media=disk]` (index 0-3: primary
 * master, primary slave, secondary master, secondary slave; without index, the first free one).
 *
 * The image file is read once and never modified: the guest's writes go to a copy-on-write overlay
 * in memory, unless `snapshot=off` asks for write-back, in which case each written sector is also
 * written to the file at once. Every problem is one UsageError naming the file or the option.
 */
import { closeSync, constants as fsConstants, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { basename } from "node:path";
import { DiskImage, SECTOR_BYTES } from "../machine/disk-image.js";
import { UsageError } from "./errors.js";

export const DRIVE_INDEXES = 4;

export interface DiskCliOptions {
  hda?: string;
  hdb?: string;
  drive?: string[];
}

export interface DriveSpec {
  file: string;
  index: number;
  writeBack: boolean;
}

/** Splits a QEMU option string at commas (",," is a literal comma) into key=value pairs. */
function splitOptions(text: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ",") {
      if (text[i + 1] === ",") {
        cur += ",";
        i++;
        continue;
      }
      parts.push(cur);
      cur = "";
    } else {
      cur += text[i];
    }
  }
  parts.push(cur);
  return parts;
}

/** Parses one `--drive` value; `index` is -1 when not given. */
export function parseDrive(text: string): DriveSpec {
  let file: string | undefined;
  let index = -1;
  let writeBack = false;
  for (const part of splitOptions(text)) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`--drive ${text}: '${part}' is not key=value`);
    const key = part.slice(0, eq), value = part.slice(eq + 1);
    switch (key) {
      case "file":
        if (value === "") throw new UsageError(`--drive ${text}: file= is empty`);
        file = value;
        break;
      case "index":
        if (!/^[0-9]+$/.test(value) || Number(value) >= DRIVE_INDEXES) {
          throw new UsageError(`--drive ${text}: index ${value} is out of range (0-3: primary master, primary slave, secondary master, secondary slave)`);
        }
        index = Number(value);
        break;
      case "format":
        if (value !== "raw") throw new UsageError(`--drive ${text}: format ${value} is not supported (only raw images)`);
        break;
      case "snapshot":
        if (value !== "on" && value !== "off") throw new UsageError(`--drive ${text}: snapshot must be on or off`);
        writeBack = value === "off";
        break;
      case "if":
        if (value !== "ide") throw new UsageError(`--drive ${text}: interface ${value} is not supported (only ide)`);
        break;
      case "media":
        if (value !== "disk") throw new UsageError(`--drive ${text}: media ${value} is not supported (only disk)`);
        break;
      default:
        throw new UsageError(`--drive ${text}: unknown option '${key}' (file, index, format, snapshot, if, media)`);
    }
  }
  if (file === undefined) throw new UsageError(`--drive ${text}: file= is missing`);
  return { file, index, writeBack };
}

/** The drives the options name, by index; two drives at one index is an error. */
export function driveSpecs(opts: DiskCliOptions): (DriveSpec | null)[] {
  const slots: (DriveSpec | null)[] = [null, null, null, null];
  const place = (d: DriveSpec, how: string) => {
    let i = d.index;
    if (i < 0) i = slots.findIndex((s) => s === null);
    if (i < 0) throw new UsageError(`${how}: no free drive index (at most ${DRIVE_INDEXES} disks)`);
    const taken = slots[i];
    if (taken !== null) throw new UsageError(`${how}: drive index ${i} is already used by ${taken.file}`);
    slots[i] = { ...d, index: i };
  };
  if (opts.hda !== undefined) place({ file: opts.hda, index: 0, writeBack: false }, `--hda ${opts.hda}`);
  if (opts.hdb !== undefined) place({ file: opts.hdb, index: 1, writeBack: false }, `--hdb ${opts.hdb}`);
  for (const text of opts.drive ?? []) place(parseDrive(text), `--drive ${text}`);
  return slots;
}

/** Reads an image file, or explains in one line why it cannot be a disk. */
export function readDiskFile(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${path}: is a directory, not a disk image`);
    if (!st.isFile()) throw new UsageError(`${path}: not a regular file, not a disk image`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  if (size === 0) throw new UsageError(`${path}: empty file, not a disk image`);
  if (size % SECTOR_BYTES !== 0) throw new UsageError(`${path}: size ${size} bytes is not a multiple of ${SECTOR_BYTES} (a raw disk image is whole sectors)`);
  if (size > bufferConstants.MAX_LENGTH) throw new UsageError(`${path}: ${size} bytes is too large for a disk image (at most ${bufferConstants.MAX_LENGTH})`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${path}: ${code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

export interface OpenedDisks {
  /** By drive index (null: no drive). */
  disks: (DiskImage | null)[];
  /** The files the disks were read from, by index. */
  files: (string | null)[];
  /** Closes the files held open for write-back. */
  close(): void;
}

/** Reads every disk the options name; write-back disks keep their file open for writing. */
export function openDisks(opts: DiskCliOptions): OpenedDisks {
  const specs = driveSpecs(opts);
  const fds: number[] = [];
  const close = () => {
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  try {
    const disks = specs.map((spec) => {
      if (spec === null) return null;
      const disk = new DiskImage(basename(spec.file), readDiskFile(spec.file));
      if (spec.writeBack) {
        let fd: number;
        try {
          fd = openSync(spec.file, fsConstants.O_WRONLY);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw new UsageError(`${spec.file}: cannot open for write-back (snapshot=off): ${code === "EACCES" ? "permission denied" : (e as Error).message}`);
        }
        fds.push(fd);
        disk.onWriteBack = (sector, data) => {
          writeSync(fd, data, 0, SECTOR_BYTES, sector * SECTOR_BYTES);
        };
      }
      return disk;
    });
    return { disks, files: specs.map((s) => s?.file ?? null), close };
  } catch (e) {
    close();
    throw e;
  }
}

/** The `--help` lines of the disk options (shared by run and record). */
export const DISK_OPTION_HELP = {
  hda: "raw disk image as the primary IDE master (index 0); the file is never modified: writes stay in a private copy-on-write overlay",
  hdb: "raw disk image as the primary IDE slave (index 1); never modified, like --hda",
  drive: "file=F,index=N[,format=raw][,snapshot=on|off]: raw disk image at IDE index N (0-3), repeatable; never modified unless snapshot=off (write-back to F)",
};
