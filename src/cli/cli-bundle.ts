/**
 * The command line's single-file build: most of a query command's start-up was Node loading some 190
 * ES modules one by one (resolving, reading and compiling each: about 100 ms of CPU for why-write),
 * not answering the question. `npm run build` therefore also writes every module the bundled commands
 * need into one script (tools/build-cli-bundle.ts), and main.ts runs a command from it when it is
 * current. V8 compiles that script from a code cache kept in the cache folder (bundle/cache.ts), made
 * by the first command after each build, so later commands skip parsing and compiling altogether.
 *
 * The modules stay the source of truth: the build records each one's size and modification time, and
 * a command runs from the modules themselves whenever one of them differs (after a `tsc` without the
 * bundle step, or an edit in dist/), or when TTD_NO_BUNDLE is set. Commands whose modules cannot all
 * be loaded by `require` (the terminal UI: ink and react are ES modules only) are never bundled.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { Script } from "node:vm";
import { cacheRoot } from "../bundle/cache.js";
import { WASM_V8_FLAGS } from "../disasm/wasm-flags.js";

/** The script and its manifest, in dist/ beside the modules. */
export const BUNDLE_FILE = "cli-bundle.cjs";
export const MANIFEST_FILE = "cli-bundle.json";
/** Set (to anything but "" or "0") to run every command from the modules. */
export const NO_BUNDLE_ENV = "TTD_NO_BUNDLE";
/** Code caches kept in the cache folder's `code/` (the most recently made ones). */
const KEEP_CODE_CACHES = 4;

export interface BundleManifest {
  /** Changes with every build: names the code cache made from this script. */
  buildId: string;
  /** The commands the script can run (program.ts COMMANDS names). */
  commands: string[];
  /** Every module in the script, by its path under dist/, as it was when the script was built. */
  modules: { path: string; size: number; mtimeMs: number }[];
}

/**
 * How the script is laid out: it evaluates to a function of (Node's require, dist/) that returns a
 * loader of modules by their path relative to dist/. Each module is a CommonJS function given its own
 * `require` (its imports resolved when the script was built) and, for ttd's modules, its
 * `import.meta.url` as it would be in dist/ (this parameter), so paths computed from it are unchanged.
 */
export const META_URL_PARAM = "__ttd_import_meta_url";

/** Whether the modules recorded in the manifest are still exactly those under `distDir`. */
export function bundleIsCurrent(manifest: BundleManifest, distDir: string): boolean {
  for (const m of manifest.modules) {
    let st;
    try {
      st = statSync(join(distDir, m.path));
    } catch {
      return false;
    }
    if (st.size !== m.size || st.mtimeMs !== m.mtimeMs) return false;
  }
  return true;
}

/** The manifest under `distDir`, or null when there is none or it cannot be read. */
export function readManifest(distDir: string): BundleManifest | null {
  try {
    return JSON.parse(readFileSync(join(distDir, MANIFEST_FILE), "utf8")) as BundleManifest;
  } catch {
    return null;
  }
}

/**
 * Loads the script under `distDir` (through the code cache in `cacheDir` when there is a usable one)
 * and returns its module loader, with `saveCodeCache` to call once the command has run: it writes a
 * code cache when there was none or V8 refused it, so that the functions the command compiled are in
 * it too. Never throws for the cache: a read-only or full cache folder only makes start-up slower.
 */
export function loadBundle(distDir: string, manifest: BundleManifest, cacheDir = cacheRoot()): { load: (path: string) => unknown; saveCodeCache: () => void } {
  // Before compiling: V8 checks the flags a code cache was made under (see wasm-flags.ts).
  setFlagsFromString(WASM_V8_FLAGS);
  const file = join(distDir, BUNDLE_FILE);
  const source = readFileSync(file, "latin1");
  const codeDir = join(cacheDir, "code");
  const cachePath = join(codeDir, `cli-${manifest.buildId}-node${process.versions.node}-${process.arch}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    // None yet: made after this command.
  }
  const script = new Script(source, { filename: file, cachedData });
  const factory = script.runInThisContext() as (require: NodeJS.Require, distDir: string) => (path: string) => unknown;
  const load = factory(createRequire(join(distDir, "cli", "main.js")), distDir);
  const saveCodeCache = (): void => {
    if (cachedData !== undefined && !script.cachedDataRejected) return;
    try {
      mkdirSync(codeDir, { recursive: true });
      // Written whole under another name, then renamed: a concurrent reader never sees half of it.
      const tmp = `${cachePath}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cachePath);
      pruneCodeCaches(codeDir, cachePath);
    } catch {
      // Read-only or full: the next command compiles the script again, which is only slower.
    }
  };
  return { load, saveCodeCache };
}

/** Keeps the KEEP_CODE_CACHES most recently made code caches (other builds, other Node versions). */
function pruneCodeCaches(codeDir: string, keep: string): void {
  const files = readdirSync(codeDir)
    .filter((f) => f.endsWith(".bin"))
    .map((f) => ({ path: join(codeDir, f), mtime: statSync(join(codeDir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const f of files.slice(KEEP_CODE_CACHES)) if (f.path !== keep) rmSync(f.path, { force: true });
}

/** dist/, from this module's own place in it (dist/cli/). */
export function distDirOf(moduleUrl: string): string {
  return dirname(dirname(fileURLToPath(moduleUrl)));
}
