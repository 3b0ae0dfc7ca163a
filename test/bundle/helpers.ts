/** Shared fixtures for the bundle tests: temporary folders, a recorded demo kernel, crafted bundles. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zc } from "node:zlib";
import { Machine } from "../../src/machine/machine.js";
import { Recorder } from "../../src/trace/recorder.js";
import { encodeHeader, HEADER_BYTES, sha256Hex, type Manifest, type ManifestEntry } from "../../src/bundle/format.js";
import { FRAME_HEADER_BYTES, METHOD_BROTLI, OutFile, writeEntryBytes } from "../../src/bundle/frames.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const KERNEL_SRC = path.join(REPO, "src/kernel");
export const kernelImage = (name: string) => path.join(REPO, "src/kernel/build", `${name}.elf`);

export function tmpDir(tag = "ttd-bundle-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), tag));
}

/**
 * Records `elf` into `out` in this process. `commandLine` is stored as the recording's metadata (what
 * `ttd record` would store), so source lookups near the ELF can be exercised.
 */
export async function recordKernel(elf: string, out: string, commandLine: string[] = ["ttd", "record", elf]): Promise<void> {
  const image = new Uint8Array(fs.readFileSync(elf));
  const machine = Machine.fromElf(image, {});
  const rec = new Recorder(machine, { path: out, image, imageName: path.basename(elf), commandLine, threaded: false });
  await rec.run();
}

/**
 * A workspace shaped like the repository for the demo kernel: `<dir>/src/kernel/*.{c,h,S}` (the paths
 * its line tables name) and `<dir>/src/kernel/build/<name>.elf`.
 */
export function demoWorkspace(name: "idle-bug" | "idle-fixed"): { dir: string; elf: string } {
  const dir = tmpDir("ttd-bundle-ws-");
  const kdir = path.join(dir, "src/kernel");
  fs.mkdirSync(path.join(kdir, "build"), { recursive: true });
  for (const f of fs.readdirSync(KERNEL_SRC)) {
    if (/\.(c|h|S)$/.test(f)) fs.copyFileSync(path.join(KERNEL_SRC, f), path.join(kdir, f));
  }
  const elf = path.join(kdir, "build", `${name}.elf`);
  fs.copyFileSync(kernelImage(name), elf);
  return { dir, elf };
}

export interface CraftEntry {
  name: string;
  role: ManifestEntry["role"];
  content?: Uint8Array;
  /** Raw stored bytes to use instead of framing `content` (with `size` as the declared size; the content checksum is left wrong). */
  stored?: Uint8Array;
  size?: number;
}

/** A bomb frame: declares `declared` content bytes, but brotli expands it to `actual` bytes. */
export function bombFrame(declared: number, actual: number): Uint8Array {
  // Zeros at a middling quality with a large window: about 200 bytes for 256 MiB, in a fraction of a second.
  const body = brotliCompressSync(Buffer.alloc(actual), { params: { [zc.BROTLI_PARAM_QUALITY]: 5, [zc.BROTLI_PARAM_LGWIN]: 24 } });
  if (body.length > declared) throw new Error("bombFrame: the compressed body must not exceed the declared size");
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  head.writeUInt32LE(declared, 0);
  head.writeUInt32LE(body.length, 4);
  head.writeUInt32LE(METHOD_BROTLI, 8);
  return Buffer.concat([head, body]);
}

/**
 * Writes a bundle with arbitrary entries and manifest fields, bypassing every check the real writer
 * makes: the way a hostile or damaged file would look. Checksums are made correct unless `patch`
 * changes them.
 */
export function craftBundle(file: string, entries: CraftEntry[], patch: (m: Manifest) => void = () => {}, version = 1): void {
  const fd = fs.openSync(file, "w");
  try {
    const out = new OutFile(fd, HEADER_BYTES);
    const list: ManifestEntry[] = [];
    for (const e of entries) {
      const offset = out.position;
      if (e.stored !== undefined) {
        out.write(e.stored);
        list.push({ name: e.name, role: e.role, size: e.size ?? 0, sha256: "0".repeat(64), offset, storedSize: e.stored.length, storedSha256: sha256Hex(e.stored) });
      } else {
        const s = writeEntryBytes(out, e.content ?? new Uint8Array(0));
        list.push({ name: e.name, role: e.role, offset, ...s });
      }
    }
    const first = (role: string) => list.find((e) => e.role === role)?.name ?? "missing";
    const m: Manifest = {
      format: "ttd-bundle",
      version,
      tool: { name: "ttd", version: "0.0.0" },
      packed: new Date(0).toISOString(),
      note: null,
      recording: {
        traceFormatVersion: 1, toolVersion: "0.0.0", created: null, commandLine: [], guestCmdline: "", steps: 10, startStep: 0, complete: true,
        end: null, image: { name: "k.elf", sha256: "0".repeat(64) },
      },
      trace: { entry: first("trace") },
      elf: { entry: first("elf"), name: "k.elf" },
      sources: { files: list.filter((e) => e.role === "source").map((e) => ({ path: e.name, entry: e.name })), missing: [] },
      bookmarks: [],
      entries: list,
    };
    patch(m);
    const json = Buffer.from(JSON.stringify(m));
    const stored = brotliCompressSync(json);
    const manifestOffset = out.position;
    out.write(stored);
    const header = encodeHeader({ version, flags: 0, manifestOffset, manifestStoredSize: stored.length, manifestSize: json.length, manifestSha256: sha256Hex(stored) });
    fs.writeSync(fd, header, 0, header.length, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every file under `dir` (relative paths), for "nothing was written here" checks. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  if (fs.existsSync(dir)) walk(dir, "");
  return out.sort();
}

/** ksIdleThreadTCB + 0x624: the idle TCB's registers[Error]. */
export const ERROR_SLOT_OFFSET = 0x624;
