#!/usr/bin/env node
/**
 * `ttd`: runs the command line (program.ts), from the single-file build when it holds the invoked
 * command and is current (cli-bundle.ts says why and when), else from the modules.
 */
import { bundleIsCurrent, distDirOf, loadBundle, NO_BUNDLE_ENV, readManifest } from "./cli-bundle.js";

type Program = typeof import("./program.js");

const invoked = process.argv[2];
const dist = distDirOf(import.meta.url);
const noBundle = (process.env[NO_BUNDLE_ENV] ?? "") !== "" && process.env[NO_BUNDLE_ENV] !== "0";
const manifest = noBundle ? null : readManifest(dist);
const holdsCommand = invoked === "--version" || invoked === "-V" || (invoked !== undefined && manifest?.commands.includes(invoked) === true);

let bundled: { program: Program; saveCodeCache: () => void } | null = null;
if (manifest !== null && holdsCommand && bundleIsCurrent(manifest, dist)) {
  try {
    const { load, saveCodeCache } = loadBundle(dist, manifest);
    bundled = { program: load("cli/program.js") as Program, saveCodeCache };
  } catch {
    // A damaged or half-copied build: the modules are the source of truth, and they are current.
  }
}
if (bundled !== null) {
  await bundled.program.runCli();
  bundled.saveCodeCache();
} else {
  await (await import("./program.js")).runCli();
}
