/**
 * openRecording: the one way commands open their input. It takes a plain trace file or a bundle as it
 * is and gives the same thing back for both: the trace, symbols from the guest ELF, source text by
 * line-table path, bookmarks, and (for a bundle) what the bundle says about itself.
 *
 * A bundle is recognised by its magic bytes (or a `.ttdb` name), its checksums are verified, and its
 * entries are extracted once into a cache folder of their own (cache.ts); later opens reuse that copy.
 * Opening never runs anything from the bundle and never writes outside the cache folder.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Elf32, ElfError } from "../elf/elf32.js";
import { readElfFile, type ElfFile } from "../elf/elf-file.js";
import type { DebugInfo } from "../symbols/debug-info.js";
import { loadDebugInfo } from "./dwarf-index-cache.js";
import { TraceError } from "../trace/errors.js";
import { resolveTracePath } from "../trace/locate.js";
import { Trace } from "../trace/trace.js";
import { checkBookmark, readTraceBookmarks, sortBookmarks, writeBookmarks, type Bookmark } from "./bookmarks.js";
import { cacheRoot, extractedFiles } from "./cache.js";
import { BundleError } from "./errors.js";
import { BUNDLE_SUFFIX, DEFAULT_LIMITS, sha256Hex, type BundleLimits, type EntryRole, type RecordingMeta } from "./format.js";
import { BundleReader, looksLikeBundle } from "./reader.js";
import { BundleSources, DiskSources, lineTableMd5s, withAncestors, type DiskSearch, type SourceProvider } from "./sources.js";
import { rewriteQemuArgs } from "../cli/qemu-options.js";
import { looksLikeSystemMap, parseSystemMap, systemMapElf, type MapSymbol } from "../symbols/system-map.js";
import { checkSystemMap, kernelSlideNote, slideMapSymbols, systemMapCandidates, type RecordedRam } from "../symbols/linux-system-map.js";
import { isLinuxBzImage } from "../machine/linux-boot.js";
import { checkVmlinux } from "../symbols/linux-vmlinux.js";

export interface OpenOptions {
  /** Extra folders to find source files in (plain traces; `--source-dir`). */
  sourceDirs?: string[];
  /** Load symbols from this ELF instead of the recorded image (e.g. an unstripped copy). */
  elf?: string;
  /**
   * Load symbols from this file: an ELF (as `elf`) or a Linux System.map, which must match the recorded
   * kernel (`--symbols`). Without it, a recorded Linux bzImage gets the System.map-<release> found
   * next to it.
   */
  symbols?: string;
  /**
   * Check a plain trace further than every open does: "quick", every page readable (SQLite's
   * quick_check); "full", everything (`ttd info --verify`, see Trace.open). A
   * bundle's checksums are verified on every open regardless, and "full" checks its trace too.
   * `true` means "quick".
   */
  verify?: boolean | "quick" | "full";
  /** The cache root (default: cacheRoot(), i.e. $TTD_CACHE_DIR, $XDG_CACHE_HOME/ttd or ~/.cache/ttd). */
  cacheDir?: string;
  /** Tighter bounds on what a bundle may declare (tests); defaults in format.ts. */
  limits?: Partial<BundleLimits>;
  /** The folder relative source paths are looked up from first (default: the current folder). */
  cwd?: string;
}

export interface BundleInfo {
  path: string;
  formatVersion: number;
  /** The ttd that packed it. */
  toolVersion: string;
  packed: string;
  note: string | null;
  recording: RecordingMeta;
  sources: { path: string; size: number }[];
  missingSources: string[];
  entries: { name: string; role: EntryRole; size: number; storedSize: number }[];
  fileBytes: number;
  contentId: string;
  /** The cache folder its entries were extracted into. */
  extractedTo: string;
}

/**
 * The ELF symbols come from, and its bytes. For a System.map this is the ELF made from it (a symbol
 * table only, see system-map.ts), so packing the recording and handing gdb its image carry the symbols.
 */
export interface RecordingImage {
  name: string;
  sha256: string;
  data: Uint8Array;
  /** Where it was read from: "trace" (the image stored in the trace), a bundle entry, or a file. */
  from: string;
  /** The file that holds exactly `data`, when there is one (an ELF named by --symbols or --elf): gdb reads it there. */
  path?: string;
  /**
   * The image parsed, when its file is large and read lazily (a vmlinux: elf-file.ts): symbols load from
   * it, reading only the parts they need. `data` then reads the rest of the file when it is asked for.
   */
  elf?: Elf32;
  /**
   * How far the recorded kernel ran from this image's addresses (a vmlinux of a kernel KASLR moved):
   * its symbols are loaded moved by it. Absent for 0, and for a System.map, whose ELF is made at the
   * addresses that ran (so gdb and a bundle get them too).
   */
  slide?: number;
  /** What to say once about these symbols (that they were slid to where KASLR moved the kernel), if anything. */
  note?: string;
}

export interface Recording {
  /** The file that was opened, as named. */
  readonly path: string;
  readonly kind: "trace" | "bundle";
  readonly trace: Trace;
  readonly image: RecordingImage;
  /** Null when the image is not an ELF this ttd reads (symbolsProblem says why). */
  readonly symbols: DebugInfo | null;
  readonly symbolsProblem: string | null;
  /** Something to say once about the symbols (RecordingImage.note), or null. */
  readonly symbolsNote: string | null;
  readonly sources: SourceProvider;
  readonly bundle: BundleInfo | null;
  /** The bookmarks, by step. */
  bookmarks(): Bookmark[];
  /** Adds a bookmark, or replaces the one with the same name; returns it as stored. */
  setBookmark(b: { name: string; step: number; note?: string }): Bookmark;
  /** Removes a bookmark by name; false when there was none. */
  removeBookmark(name: string): boolean;
  close(): void;
}

/** Opens the recording a command names, or the latest one in ./.ttd when none is named. */
export function openRecordingArg(arg: string | undefined, options: OpenOptions = {}): Recording {
  return openRecording(resolveTracePath(arg, options.cwd), options);
}

export function openRecording(path: string, options: OpenOptions = {}): Recording {
  if (looksLikeBundle(path) || path.toLowerCase().endsWith(BUNDLE_SUFFIX)) return openBundle(path, options);
  return openTrace(path, options);
}

/**
 * The symbols of the image opened last, by the SHA-256 of its bytes (computed here, never taken from
 * the file): parsing DWARF is most of the cost of opening a small recording, and a process that opens
 * recordings of one kernel again and again (the TUI reopening, tests) parses it once.
 */
let lastSymbols: { sha256: string; slide: number; symbols: DebugInfo } | null = null;

function loadSymbols(data: Uint8Array | Elf32, from: string, knownSha256?: string, slide = 0): { symbols: DebugInfo | null; problem: string | null } {
  try {
    // Hashed here unless the caller just hashed these very bytes (a --symbols file: a vmlinux is 300 MB).
    const sha256 = knownSha256 ?? sha256Hex(data instanceof Elf32 ? data.bytes : data);
    const symbols = lastSymbols?.sha256 === sha256 && lastSymbols.slide === slide ? lastSymbols.symbols : loadDebugInfo(data, sha256, undefined, slide);
    lastSymbols = { sha256, slide, symbols };
    return { symbols, problem: symbols.hasLines ? null : (symbols.linesUnavailableReason ?? null) };
  } catch (e) {
    if (e instanceof ElfError) return { symbols: null, problem: `${from}: ${e.message}` };
    throw e;
  }
}

/**
 * A System.map as the image symbols come from: the ELF made from it. Throws a TraceError naming the file
 * when it is not a usable map, or (given the recorded kernel) when it does not belong to that kernel.
 */
function systemMapImage(path: string, data: Uint8Array, kernel: { name: string; data: Uint8Array } | null, ram: RecordedRam): RecordingImage {
  let symbols: MapSymbol[];
  try {
    symbols = parseSystemMap(new TextDecoder("latin1").decode(data));
  } catch (e) {
    if (e instanceof ElfError) throw new TraceError(`${path}: ${e.message}`);
    throw e;
  }
  let slide = 0;
  if (kernel !== null && isLinuxBzImage(kernel.data)) {
    const check = checkSystemMap(symbols, path, kernel.data, ram);
    if (check.mismatch !== null) throw new TraceError(`${path}: does not match the recorded kernel ${kernel.name}: ${check.mismatch}`);
    slide = check.slide;
  }
  const elf = systemMapElf(slideMapSymbols(symbols, slide));
  return { name: `${basename(path)}.elf`, sha256: sha256Hex(elf), data: elf, from: path, note: kernelSlideNote(slide) ?? undefined };
}

/**
 * The file `--symbols` names: an ELF as it is, a System.map as the ELF made from it; either checked
 * against the recorded kernel when that is a bzImage.
 */
function readSymbolsOption(path: string, kernel: { name: string; data: Uint8Array } | null, ram: RecordedRam): RecordingImage {
  const file = readElfOption(path);
  // A file read lazily is an ELF; asking a map's questions of its bytes would read all of it.
  if (file.elf === undefined && looksLikeSystemMap(file.data)) return systemMapImage(path, file.data, kernel, ram);
  if (kernel === null) return file;
  const check = checkVmlinux(file.elf ?? file.data, path, kernel.data, ram);
  if (check.mismatch !== null) throw new TraceError(`${path}: does not match the recorded kernel ${kernel.name}: ${check.mismatch}`);
  if (check.slide !== 0) {
    file.slide = check.slide;
    file.note = kernelSlideNote(check.slide) ?? undefined;
  }
  return file;
}

function readElfOption(path: string): RecordingImage {
  let file: ElfFile;
  try {
    // A vmlinux with DWARF is hundreds of MB, most of which no command reads: large files are read lazily.
    file = readElfFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceError(`${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder" : (e as Error).message}`);
  }
  return {
    name: basename(path),
    sha256: file.sha256,
    get data() {
      file.fillAll();
      return file.bytes;
    },
    from: path,
    path,
    ...(file.elf !== null ? { elf: file.elf } : {}),
  };
}

/**
 * Paths the kernel was given as when recording (from the recorded command line), resolved against the
 * places a relative one may have been relative to. Used only to find source files near the ELF.
 */
function recordedKernelDirs(tracePath: string, commandLine: string[], imageName: string, cwd: string): string[] {
  const valued = new Set(["-o", "--output", "--max-steps", "--memory", "--cmdline", "--module", "--hda", "--hdb", "--drive"]);
  const args: string[] = [];
  const start = commandLine.indexOf("record");
  let given = commandLine.slice(start < 0 ? 0 : start + 1);
  try {
    // The recording may have been made with QEMU's spellings (-kernel FILE, -m 256M...).
    given = rewriteQemuArgs(given);
  } catch {
    // Not a command line ttd would accept today: read it as it is.
  }
  for (let i = 0; i < given.length; i++) {
    const a = given[i];
    if (valued.has(a)) i++;
    else if (!a.startsWith("-")) args.push(a);
  }
  const traceDir = dirname(resolve(cwd, tracePath));
  // Traces recorded without -o live in <recording folder>/.ttd/.
  const recordingCwd = basename(traceDir) === ".ttd" ? dirname(traceDir) : traceDir;
  const dirs: string[] = [];
  const want = basename(imageName.replace(/\\/g, "/"));
  for (const a of args) {
    if (basename(a.replace(/\\/g, "/")) !== want) continue;
    for (const base of [cwd, recordingCwd]) dirs.push(dirname(resolve(base, a)));
  }
  return dirs;
}

/** The recorded RAM at the last step, replayed when first read: for checking a System.map or vmlinux against the kernel it ran. */
function recordedRam(trace: Trace): RecordedRam {
  // Asked again at every read: the replay's memory is reused by later seeks to other steps.
  const lastRam = (): Uint8Array | null => {
    try {
      return trace.stateAt(trace.steps).machine.mem.u8;
    } catch {
      return null;
    }
  };
  return {
    read(address, size) {
      const m = lastRam();
      return m === null || address < 0 || address + size > m.length ? null : m.slice(address, address + size);
    },
    *find(bytes) {
      const m = lastRam();
      if (m === null) return;
      const hay = Buffer.from(m.buffer, m.byteOffset, m.length);
      for (let at = hay.indexOf(bytes); at >= 0; at = hay.indexOf(bytes, at + 1)) yield at;
    },
  };
}

function openTrace(path: string, options: OpenOptions): Recording {
  const cwd = options.cwd ?? process.cwd();
  const trace = Trace.open(path, { verify: options.verify });
  try {
    const info = trace.info();
    let image: RecordingImage;
    const recorded = trace.image();
    const kernelDirs = [...new Set(recordedKernelDirs(path, info.commandLine, info.image.name || recorded.name, cwd))];
    const ram = recordedRam(trace);
    let mapProblem: string | null = null;
    if (options.symbols !== undefined) {
      image = readSymbolsOption(options.symbols, recorded, ram);
    } else if (options.elf !== undefined) {
      image = readElfOption(options.elf);
    } else {
      image = { name: recorded.name, sha256: recorded.sha256, data: recorded.data, from: "trace" };
      if (isLinuxBzImage(recorded.data)) {
        // A bzImage holds no symbols: its System.map, found next to it, stands in.
        const found = systemMapCandidates(recorded.data, kernelDirs);
        mapProblem = `${path}: the recorded kernel ${recorded.name} is a Linux bzImage, which carries no symbols: name its System.map with --symbols` +
          (kernelDirs.length > 0 ? ` (none found as System.map-<release> in ${kernelDirs.join(", ")})` : "");
        for (const candidate of found) {
          try {
            image = systemMapImage(candidate, new Uint8Array(readFileSync(candidate)), recorded, ram);
            mapProblem = null;
            break;
          } catch (e) {
            if (!(e instanceof TraceError)) throw e;
            mapProblem = e.message;
          }
        }
      }
    }
    const loaded = image.from === "trace" ? loadSymbols(image.data, `${path} (its image ${image.name})`) : loadSymbols(image.elf ?? image.data, image.from, image.sha256, image.slide);
    const symbols = mapProblem === null ? loaded.symbols : null;
    const problem = mapProblem ?? loaded.problem;
    const traceDir = dirname(resolve(cwd, path));
    const search: DiskSearch = {
      sourceDirs: (options.sourceDirs ?? []).map((d) => resolve(cwd, d)),
      bases: [...new Set([cwd, ...kernelDirs.flatMap((d) => withAncestors(d)), ...withAncestors(traceDir)])],
      imageDirs: kernelDirs,
    };
    const sources = new DiskSources(symbols?.lines.files() ?? [], search, lineTableMd5s(symbols));
    const range = () => ({ first: trace.startStep, last: trace.steps });
    return {
      path,
      kind: "trace",
      trace,
      image,
      symbols,
      symbolsProblem: problem,
      symbolsNote: symbols === null ? null : image.note ?? null,
      sources,
      bundle: null,
      bookmarks: () => readTraceBookmarks(path),
      setBookmark: (b) => {
        const clean = checkBookmark(b, range());
        writeBookmarks(path, [...readTraceBookmarks(path).filter((x) => x.name !== clean.name), clean]);
        return clean;
      },
      removeBookmark: (name) => {
        const list = readTraceBookmarks(path);
        const rest = list.filter((x) => x.name !== name);
        if (rest.length === list.length) return false;
        writeBookmarks(path, rest);
        return true;
      },
      close: () => trace.close(),
    };
  } catch (e) {
    trace.close();
    throw e;
  }
}

function openBundle(path: string, options: OpenOptions): Recording {
  const limits: BundleLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const reader = BundleReader.open(path, limits);
  let filesDir: string;
  let bundle: BundleInfo;
  try {
    reader.verifyStored();
    filesDir = extractedFiles(reader, options.cacheDir ?? cacheRoot());
    const m = reader.manifest;
    const sizes = new Map(m.entries.map((e) => [e.name, e.size]));
    bundle = {
      path,
      formatVersion: m.version,
      toolVersion: m.tool.version,
      packed: m.packed,
      note: m.note,
      recording: m.recording,
      sources: m.sources.files.map((s) => ({ path: s.path, size: sizes.get(s.entry) ?? 0 })),
      missingSources: m.sources.missing,
      entries: m.entries.map((e) => ({ name: e.name, role: e.role, size: e.size, storedSize: e.storedSize })),
      fileBytes: reader.fileBytes,
      contentId: reader.contentId,
      extractedTo: filesDir,
    };
  } finally {
    reader.close();
  }
  const m = reader.manifest;
  const local = (entry: string) => join(filesDir, ...entry.split("/"));
  const tracePath = local(m.trace.entry);
  let trace: Trace;
  try {
    // The bundle's stored checksums were just verified, and the extracted copy was checked against
    // each entry's content checksum when it was written and is unchanged since (cache.ts): the table
    // checksums could find nothing more.
    trace = Trace.open(tracePath, { verify: options.verify === "full" ? "full" : "copy" });
  } catch (e) {
    if (e instanceof TraceError) throw new BundleError(e.message.split(tracePath).join(`${path} (its trace)`));
    throw e;
  }
  try {
    let image: RecordingImage;
    if (options.symbols !== undefined) {
      image = readSymbolsOption(options.symbols, trace.image(), recordedRam(trace));
    } else if (options.elf !== undefined) {
      image = readElfOption(options.elf);
    } else {
      const data = new Uint8Array(readFileSync(local(m.elf.entry)));
      image = { name: m.elf.name, sha256: sha256Hex(data), data, from: `${path}:${m.elf.entry}`, note: m.elf.note };
    }
    const { symbols, problem } = loadSymbols(image.elf ?? image.data, image.from, image.path !== undefined ? image.sha256 : undefined, image.slide);
    const sources = new BundleSources(filesDir, m.sources.files, m.sources.missing, lineTableMd5s(symbols));
    // Sorted when first asked for: a tie in steps is broken by localeCompare, whose first call loads
    // ICU's collation data (about 10 ms), and most commands never list the bookmarks.
    let sorted: Bookmark[] | null = null;
    const current = () => (sorted ??= sortBookmarks(m.bookmarks));
    const save = (list: Bookmark[]) => {
      sorted = writeBookmarks(path, list);
      bundle.fileBytes = statSync(path).size;
    };
    const range = () => ({ first: trace.startStep, last: trace.steps });
    return {
      path,
      kind: "bundle",
      trace,
      image,
      symbols,
      symbolsProblem: problem,
      symbolsNote: symbols === null ? null : image.note ?? null,
      sources,
      bundle,
      bookmarks: () => [...current()],
      setBookmark: (b) => {
        const clean = checkBookmark(b, range());
        save([...current().filter((x) => x.name !== clean.name), clean]);
        return clean;
      },
      removeBookmark: (name) => {
        const rest = current().filter((x) => x.name !== name);
        if (rest.length === current().length) return false;
        save(rest);
        return true;
      },
      close: () => trace.close(),
    };
  } catch (e) {
    trace.close();
    throw e;
  }
}
