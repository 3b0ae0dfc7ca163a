/**
 * The command line's single-file build (src/cli/cli-bundle.ts, src/tools/build-cli-bundle.ts): built
 * from a small module tree of the test's own, it loads modules as Node would (once each, cycles,
 * import.meta.url, packages), leaves out commands that need ES-only packages, keeps a code cache V8
 * accepts, and is no longer current once a module changes. The real build answers as the modules do.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { bundleIsCurrent, loadBundle, readManifest, type BundleManifest } from "../../src/cli/cli-bundle.js";
import { buildCliBundle } from "../../src/tools/build-cli-bundle.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-cli-bundle-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/**
 * A dist/ of two commands: `count` (a cycle, import.meta.url, a builtin, a CommonJS package imported
 * and another loaded with createRequire) and `esm` (a package require cannot load).
 */
function makeDist(root: string): string {
  const dist = path.join(root, "dist");
  write(path.join(root, "node_modules/cjs-pkg/package.json"), JSON.stringify({ name: "cjs-pkg", main: "index.js" }));
  write(path.join(root, "node_modules/cjs-pkg/index.js"), "exports.twice = (n) => 2 * n;\n");
  write(path.join(root, "node_modules/loaded-pkg/package.json"), JSON.stringify({ name: "loaded-pkg", main: "main.js" }));
  write(path.join(root, "node_modules/loaded-pkg/main.js"), "exports.where = __dirname;\n");
  write(path.join(root, "node_modules/esm-pkg/package.json"), JSON.stringify({ name: "esm-pkg", type: "module", exports: "./index.js" }));
  // Top-level await: no Node version can require it (those that require ES modules refuse async ones).
  write(path.join(root, "node_modules/esm-pkg/index.js"), "export const x = await Promise.resolve(1);\n");
  write(path.join(dist, "cli/program.js"), 'export const COMMANDS = { count: { module: "./count.js" }, esm: { module: "./esm.js" } };\n');
  write(path.join(dist, "cli/count.js"), [
    'import { basename } from "node:path";',
    'import { twice } from "cjs-pkg";',
    'import { a, runs } from "../lib/a.js";',
    'import { createRequire } from "node:module";',
    'export const loaded = createRequire(import.meta.url)("loaded-pkg");',
    'export const here = import.meta.url;',
    'export const name = basename(new URL(import.meta.url).pathname);',
    'export function answer() { return twice(a()); }',
    'export { runs };',
  ].join("\n") + "\n");
  // a.js and b.js import each other: b reads a's export only when called, as ES modules allow.
  write(path.join(dist, "lib/a.js"), 'import { b } from "./b.js";\nexport let runs = 0;\nruns++;\nexport function a() { return b() + 1; }\nexport const ONE = 1;\n');
  write(path.join(dist, "lib/b.js"), 'import { ONE } from "./a.js";\nexport function b() { return ONE * 20; }\n');
  write(path.join(dist, "cli/esm.js"), 'import { x } from "esm-pkg";\nexport const y = x;\n');
  return dist;
}

describe("the single-file build", () => {
  const dist = makeDist(path.join(tmp, "tree"));
  const cache = path.join(tmp, "cache");
  let manifest: BundleManifest;

  it("holds the commands whose packages require can load, only their modules, and CommonJS packages", () => {
    manifest = buildCliBundle(dist, { count: { module: "./count.js" }, esm: { module: "./esm.js" } });
    expect(manifest.commands).toEqual(["count"]);
    expect(manifest.modules.map((m) => m.path)).toEqual([
      "../node_modules/cjs-pkg/index.js", "../node_modules/loaded-pkg/main.js", "cli/count.js", "cli/program.js", "lib/a.js", "lib/b.js",
    ]);
    expect(readManifest(dist)).toEqual(manifest);
    expect(bundleIsCurrent(manifest, dist)).toBe(true);
  });

  it("runs modules once each, through cycles, with import.meta.url of their place in dist/", () => {
    const { load, saveCodeCache } = loadBundle(dist, manifest, cache);
    const count = load("cli/count.js") as { here: string; name: string; answer: () => number; runs: number; loaded: { where: string } };
    expect(count.answer()).toBe(42);
    expect(count.here).toBe(pathToFileURL(path.join(dist, "cli/count.js")).href);
    expect(count.name).toBe("count.js");
    expect(count.runs).toBe(1);
    // The package's copy in the script, with __dirname where its files are.
    expect(count.loaded).toBe(load("../node_modules/loaded-pkg/main.js"));
    expect(count.loaded.where).toBe(path.join(path.dirname(dist), "node_modules/loaded-pkg"));
    expect(load("cli/count.js")).toBe(count);
    expect(() => load("cli/esm.js")).toThrow(/no module cli\/esm.js/);
    saveCodeCache();
    const made = fs.readdirSync(path.join(cache, "code"));
    expect(made).toHaveLength(1);
    const before = fs.statSync(path.join(cache, "code", made[0])).mtimeMs;
    // A second load uses the cache (V8 accepts it) and leaves it as it is.
    loadBundle(dist, manifest, cache).saveCodeCache();
    expect(fs.statSync(path.join(cache, "code", made[0])).mtimeMs).toBe(before);
  });

  it("is no longer current once a module changes or goes", () => {
    fs.appendFileSync(path.join(dist, "lib/b.js"), "// changed\n");
    expect(bundleIsCurrent(manifest, dist)).toBe(false);
    manifest = buildCliBundle(dist, { count: { module: "./count.js" } });
    expect(bundleIsCurrent(manifest, dist)).toBe(true);
    fs.rmSync(path.join(dist, "lib/b.js"));
    expect(bundleIsCurrent(manifest, dist)).toBe(false);
  });
});

describe("ttd from the single-file build", () => {
  const repo = path.resolve(import.meta.dirname, "../..");
  const cli = path.join(repo, "dist/cli/main.js");
  const real = readManifest(path.join(repo, "dist"));

  it("holds the query commands and not the terminal UI", () => {
    expect(real, "npm run build writes dist/cli-bundle.json").not.toBeNull();
    expect(real!.commands).toEqual(expect.arrayContaining(["why-write", "explain", "info", "history", "print", "gdbserver"]));
    expect(real!.commands).not.toContain("tui");
    expect(bundleIsCurrent(real!, path.join(repo, "dist")), "dist/ changed after the single-file build: run npm run build").toBe(true);
  });

  it("answers as the modules do", () => {
    const args = [cli, "why-write", "ksIdleThread->tcbArch.tcbContext.registers[Error]", "--trace", path.join(repo, "traces/idle-bug.ttdb"), "--at", "fault", "--chain", "--json"];
    const env = { ...process.env, TTD_CACHE_DIR: path.join(tmp, "real-cache") };
    const bundled = execFileSync(process.execPath, args, { env, encoding: "utf8" });
    const modules = execFileSync(process.execPath, args, { env: { ...env, TTD_NO_BUNDLE: "1" }, encoding: "utf8" });
    expect(bundled).toBe(modules);
    expect(JSON.parse(bundled).writes.length).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(tmp, "real-cache", "code"))).toHaveLength(1);
  });
});
