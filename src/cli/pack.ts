/** `ttd pack`: one file holding a recording, its ELF, its sources and metadata, to open anywhere. */
import type { Command } from "commander";
import { basename, relative } from "node:path";
import { UsageError } from "./errors.js";
import { formatBytes } from "./record.js";
import { openRecording } from "../bundle/open.js";
import { packRecording } from "../bundle/pack.js";
import { BUNDLE_SUFFIX } from "../bundle/format.js";
import { CACHE_ENV } from "../bundle/cache.js";
import { TraceError } from "../trace/errors.js";
import { resolveTracePath } from "../trace/locate.js";
import { groupDigits } from "../text/group-digits.js";

interface PackCliOptions {
  output?: string;
  note?: string;
  sourceDir: string[];
  elf?: string;
  force?: boolean;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `<trace name without extension>.ttdb` in the current folder. */
function defaultOutput(tracePath: string): string {
  const stem = basename(tracePath).replace(/\.(trace|ttdb|sqlite|db)$/i, "") || "recording";
  return stem + BUNDLE_SUFFIX;
}

export function registerPack(program: Command): void {
  program
    .command("pack")
    .description("pack a recording with its ELF, source files and metadata into one compressed bundle (.ttdb)")
    .argument("[trace]", "trace file or bundle to pack (default: the latest recorded in ./.ttd)")
    .option("-o, --output <file>", `bundle to write (default: <trace name>${BUNDLE_SUFFIX} in the current folder)`)
    .option("--note <text>", "a note stored in the bundle (what it shows, where the bug is)")
    .option("--source-dir <dir>", "also look for source files here (repeatable)", collect, [])
    .option("--elf <file>", "pack this ELF (e.g. an unstripped build) instead of the image stored in the trace")
    .option("--force", "overwrite the output file if it exists")
    .option("--json", "print what was packed as one JSON object")
    .addHelpText(
      "after",
      `
A bundle holds a snapshot of the trace, the guest ELF with its debug info, every source file its DWARF
line tables name (found on disk relative to the current folder, the folders around the recorded ELF and
the trace, and each --source-dir; the ones not found are listed), how and when it was recorded, the
note, the trace's bookmarks, and SHA-256 checksums of everything, compressed with brotli.

Every command that takes a trace also takes a bundle as it is: it is verified and extracted once into
a cache folder ($${CACHE_ENV}, else $XDG_CACHE_HOME/ttd, else ~/.cache/ttd). The format is described
in docs/bundle-format.md.

Exit status: 0 when packed, 2 for bad input (no such trace, damaged trace, output exists).

With no trace named, pack takes the latest recording in ./.ttd (see 'ttd record').

Examples:
  ttd record src/kernel/build/idle-bug.elf -o idle.trace --force
  ttd pack idle.trace -o idle-bug.ttdb --note "idle thread push shifts the timer frame" --force
  ttd pack idle.trace -o bug.ttdb --source-dir src/kernel --force
  ttd info idle-bug.ttdb`,
    )
    .action((traceArg: string | undefined, opts: PackCliOptions) => {
      let rec;
      let result;
      try {
        const input = resolveTracePath(traceArg);
        rec = openRecording(input, { sourceDirs: opts.sourceDir, elf: opts.elf });
        const out = opts.output ?? defaultOutput(input);
        try {
          result = packRecording(rec, out, { note: opts.note, force: opts.force });
        } finally {
          rec.close();
        }
      } catch (e) {
        if (e instanceof TraceError) throw new UsageError(e.message);
        throw e;
      }
      if (opts.json) {
        const { manifest, ...rest } = result;
        process.stdout.write(JSON.stringify({ ...rest, bookmarks: manifest.bookmarks.length, note: manifest.note }, null, 2) + "\n");
      } else {
        const shown = relative(process.cwd(), result.path).startsWith("..") ? result.path : relative(process.cwd(), result.path) || result.path;
        const pair = (a: { size: number; stored: number }) => `${formatBytes(a.size)} -> ${formatBytes(a.stored)}`;
        const lines = [
          `packed ${rec.path} into ${shown}: ${formatBytes(result.fileBytes)}`,
          `  trace      ${pair(result.trace)} (${groupDigits(result.manifest.recording.steps)} steps)`,
          `  image      ${result.manifest.elf.name}, ${pair(result.elf)}`,
          `  sources    ${result.sources.count} file${result.sources.count === 1 ? "" : "s"}, ${pair(result.sources)}${result.missing.length > 0 ? `; ${result.missing.length} missing` : ""}`,
          `  bookmarks  ${result.manifest.bookmarks.length}`,
        ];
        for (const f of result.sourceFolders) lines.push(`  from       ${f}`);
        if (result.manifest.note !== null) lines.push(`  note       ${result.manifest.note}`);
        process.stdout.write(lines.join("\n") + "\n");
      }
      if (result.missing.length > 0) {
        process.stderr.write(`ttd: warning: source files not found, packed as missing (add --source-dir): ${result.missing.join(", ")}\n`);
      }
      if (result.stale.length > 0) {
        process.stderr.write(`ttd: warning: packed source files differ from the ones compiled (their MD5 does not match the line table): ${result.stale.join(", ")}\n`);
      }
    });
}
