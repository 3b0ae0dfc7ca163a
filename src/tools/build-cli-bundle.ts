/**
 * Writes the command line's single-file build (cli/cli-bundle.ts says what it is for) from the
 * compiled modules in dist/: `npm run build` runs it after tsc.
 *
 *   node dist/tools/build-cli-bundle.js [DIST]
 *
 * Every command of program.ts whose modules can all be loaded by `require` goes in: the modules it
 * reaches through static and dynamic imports, each turned into a CommonJS function by TypeScript's
 * own transpiler, in one script, with a manifest naming the commands and the modules (size and
 * modification time, so that main.ts can tell when the script no longer matches them).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { BUNDLE_FILE, MANIFEST_FILE, META_URL_PARAM, type BundleManifest } from "../cli/cli-bundle.js";

/**
 * One module of the script: its id (its path relative to dist/), whether it is one of ttd's compiled
 * ES modules or a CommonJS module of a package, its source, and what each import of it resolves to:
 * another module of the script, or (null) Node's own require.
 */
interface GraphModule {
  id: string;
  kind: "esm" | "cjs";
  source: string;
  deps: Map<string, string | null>;
}

/** createRequire(import.meta.url)("name") in a compiled module, with the name. */
const CREATE_REQUIRE_CALL = /\bcreateRequire\(import\.meta\.url\)\(\s*["']([^"']+)["']\s*\)/g;
/** How a module's dependencies name a package it loads through createRequire (see the loader). */
const CREATE_REQUIRE_KEY = "createRequire:";

/** The modules and packages a module imports (static imports, re-exports, literal import(), require()). */
function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

function isBuiltin(spec: string): boolean {
  return spec.startsWith("node:") || builtinModules.includes(spec);
}

/** Reads modules and packages for one command (or program.ts itself). */
class GraphReader {
  /** Packages that `require` cannot load (ES-only: ink, react), by name. */
  readonly unloadable = new Set<string>();
  private readonly requireable = new Map<string, boolean>();
  private readonly inlinable = new Map<string, boolean>();

  constructor(private readonly dist: string) {}

  private idOf(file: string): string {
    return relative(this.dist, file).split(sep).join("/");
  }

  /** Reads the graph reachable from `entry` (a path under dist/) into `graph`. */
  walk(entry: string, graph: Map<string, GraphModule>): void {
    const pending = [join(this.dist, entry)];
    while (pending.length > 0) {
      const file = pending.pop()!;
      const id = this.idOf(file);
      if (graph.has(id)) continue;
      const kind = id.startsWith("../") ? "cjs" : "esm";
      const source = readFileSync(file, "utf8");
      const deps = new Map<string, string | null>();
      for (const spec of importsOf(source)) {
        if (spec === "node:module" && kind === "esm") {
          // A package loaded with createRequire(import.meta.url)("name") (iced.ts: a CommonJS package
          // Node would otherwise scan for ES exports) goes in too, under a key of its own.
          for (const [, name] of source.matchAll(CREATE_REQUIRE_CALL)) {
            const target = this.packageFile(file, name);
            deps.set(`${CREATE_REQUIRE_KEY}${name}`, target === null ? null : this.idOf(target));
            if (target !== null) pending.push(target);
          }
        }
        if (isBuiltin(spec)) {
          deps.set(spec, null);
        } else if (kind === "esm" && spec.startsWith(".")) {
          const target = resolve(dirname(file), spec);
          deps.set(spec, this.idOf(target));
          pending.push(target);
        } else {
          const target = this.packageFile(file, spec);
          deps.set(spec, target === null ? null : this.idOf(target));
          if (target !== null) pending.push(target);
        }
      }
      graph.set(id, { id, kind, source, deps });
    }
  }

  /**
   * The file `spec` names from `from`, when it can go into the script: a CommonJS JavaScript file of
   * a package whose own imports can all go in too, or are Node's modules. Null leaves it to Node's
   * require (a native addon, JSON); a package require cannot load at all is noted in `unloadable`.
   */
  private packageFile(from: string, spec: string): string | null {
    const require = createRequire(from);
    const key = `${from}|${spec}`;
    if (!this.requireable.has(key)) {
      let ok = true;
      try {
        require(spec);
      } catch {
        ok = false;
      }
      this.requireable.set(key, ok);
    }
    if (!this.requireable.get(key)) {
      this.unloadable.add(spec);
      return null;
    }
    const file = require.resolve(spec);
    return this.canInline(file) ? file : null;
  }

  /** Whether a package file and everything it requires are CommonJS JavaScript or Node's modules. */
  private canInline(file: string, seen = new Set<string>()): boolean {
    const known = this.inlinable.get(file);
    if (known !== undefined) return known;
    if (seen.has(file)) return true;
    seen.add(file);
    // A package's file lies outside dist/ (in node_modules); ttd's own modules are never inlined this way.
    let ok = /\.c?js$/.test(file) && this.idOf(file).startsWith("../") && isPlainCommonJs(file);
    if (ok) {
      const require = createRequire(file);
      for (const spec of importsOf(readFileSync(file, "utf8"))) {
        if (isBuiltin(spec)) continue;
        let target: string;
        try {
          target = require.resolve(spec);
        } catch {
          ok = false;
          break;
        }
        if (!this.canInline(target, seen)) {
          ok = false;
          break;
        }
      }
    }
    this.inlinable.set(file, ok);
    return ok;
  }
}

/**
 * Whether a package's JavaScript file can run from the script: Node loads it as CommonJS (a .cjs file,
 * or a .js file whose package is not "type": "module"), and its package builds no native addon (those
 * find their addon from where their own files lie, better-sqlite3 through the stack trace).
 */
function isPlainCommonJs(file: string): boolean {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    let text: string;
    try {
      text = readFileSync(join(dir, "package.json"), "utf8");
    } catch {
      continue;
    }
    if (existsSync(join(dir, "binding.gyp"))) return false;
    return file.endsWith(".cjs") || (JSON.parse(text) as { type?: string }).type !== "module";
  }
  return file.endsWith(".cjs");
}

/**
 * One module as a function of (require, module, exports, import.meta.url, __filename, __dirname): ttd's
 * ES modules turned into CommonJS by TypeScript, packages' CommonJS as it is.
 */
function moduleFunction(m: GraphModule): string {
  let body = m.source;
  if (m.kind === "esm") {
    const cjs = ts.transpileModule(m.source, {
      fileName: m.id,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, removeComments: true },
    }).outputText;
    body = cjs.replace(/import\.meta\.url/g, META_URL_PARAM).replace(/^\/\/# sourceMappingURL=.*$/m, "");
    if (/import\.meta/.test(body)) throw new Error(`${m.id}: uses import.meta beyond import.meta.url, which the single-file build cannot give it`);
  }
  // Every character outside ASCII (the VGA code page's glyphs, a dash in a message) as an escape: one
  // such character makes V8 hold the whole 1.5 MB script in two bytes a character, and main.ts reads
  // it as Latin-1, which for ASCII is the cheapest decoding there is.
  body = body.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const deps = Object.fromEntries([...m.deps].filter(([, id]) => id !== null));
  return `${JSON.stringify(m.id)}: [${JSON.stringify(deps)}, function (require, module, exports, ${META_URL_PARAM}, __filename, __dirname) {\n${body}\n}]`;
}

/**
 * The script's own loader: a module's require goes to the module of the script its import resolved
 * to at build time, else (a path computed at run time: program.ts's command modules) to the module of
 * the script at that path, else to Node's require; each module runs once, on first require, as in Node.
 */
const LOADER = `(function (nodeRequire, distDir) {
  const { join } = nodeRequire("node:path");
  const { pathToFileURL } = nodeRequire("node:url");
  const loaded = new Map();
  function resolveIn(dir, spec) {
    const parts = [];
    for (const part of (dir === "" ? spec : dir + "/" + spec).split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") parts.pop();
      else parts.push(part);
    }
    return parts.join("/");
  }
  function load(id) {
    const done = loaded.get(id);
    if (done !== undefined) return done.exports;
    const entry = MODULES[id];
    if (entry === undefined) throw new Error("the single-file build has no module " + id);
    const [deps, define] = entry;
    const module = { exports: {} };
    loaded.set(id, module);
    const dir = id.includes("/") ? id.slice(0, id.lastIndexOf("/")) : "";
    const require = (spec) => {
      const dep = deps[spec];
      if (dep !== undefined) return load(dep);
      if (spec === "node:module") return moduleWithCreateRequire(deps);
      if (spec.startsWith(".") && MODULES[resolveIn(dir, spec)] !== undefined) return load(resolveIn(dir, spec));
      return nodeRequire(spec);
    };
    const file = join(distDir, id);
    define(require, module, module.exports, pathToFileURL(file).href, file, join(distDir, dir));
    return module.exports;
  }
  // node:module as a module sees it: its createRequire(...)("name") loads the script's copy of a
  // package the build found it loading that way.
  function moduleWithCreateRequire(deps) {
    const real = nodeRequire("node:module");
    const createRequire = (from) => {
      const requireFrom = real.createRequire(from);
      const own = (spec) => {
        const dep = deps["${CREATE_REQUIRE_KEY}" + spec];
        return dep !== undefined ? load(dep) : requireFrom(spec);
      };
      return Object.assign(own, { resolve: requireFrom.resolve, cache: requireFrom.cache });
    };
    return { ...real, createRequire };
  }
  return load;
})`;

/** Builds the script and manifest for the modules under `dist`; returns the manifest. */
export function buildCliBundle(dist: string, commands: Record<string, { module: string }>, programPath = "cli/program.js"): BundleManifest {
  const graph = new Map<string, GraphModule>();
  const program = new GraphReader(dist);
  program.walk(programPath, graph);
  if (program.unloadable.size > 0) throw new Error(`${programPath} imports packages require cannot load: ${[...program.unloadable].join(", ")}`);
  const bundled: string[] = [];
  for (const [name, { module }] of Object.entries(commands)) {
    const own = new Map<string, GraphModule>();
    const reader = new GraphReader(dist);
    reader.walk(relative(dist, resolve(dist, dirname(programPath), module)).split(sep).join("/"), own);
    if (reader.unloadable.size > 0) continue;
    bundled.push(name);
    for (const [id, m] of own) graph.set(id, m);
  }
  const modules = [...graph.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  // One function around it all: a second script in the same process (a test) declares nothing twice.
  const script = `"use strict";\n(function () {\nconst MODULES = {\n${modules.map(moduleFunction).join(",\n")}\n};\nreturn ${LOADER};\n})()\n`;
  const manifest: BundleManifest = {
    buildId: createHash("sha256").update(script).digest("hex").slice(0, 16),
    commands: bundled,
    modules: modules.map((m) => {
      const st = statSync(join(dist, m.id));
      return { path: m.id, size: st.size, mtimeMs: st.mtimeMs };
    }),
  };
  writeWhole(join(dist, BUNDLE_FILE), script);
  writeWhole(join(dist, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + "\n");
  return manifest;
}

function writeWhole(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dist = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), ".."));
  const { COMMANDS } = (await import(pathToFileURL(join(dist, "cli", "program.js")).href)) as typeof import("../cli/program.js");
  const manifest = buildCliBundle(dist, COMMANDS);
  const all = Object.keys(COMMANDS);
  const left = all.filter((c) => !manifest.commands.includes(c));
  process.stdout.write(`${join(dist, BUNDLE_FILE)}: ${manifest.modules.length} modules; commands ${manifest.commands.join(" ")}${left.length > 0 ? ` (not ${left.join(" ")}: they need ES-only packages)` : ""}\n`);
}
