#!/usr/bin/env node
/**
 * `ttd`: runs the command line (program.ts), from the single-file build when it holds the invoked
 * command and is current (cli-bundle.ts says why and when), else from the modules.
 */
import { bundleIsCurrent, distDirOf, loadBundle, NO_BUNDLE_ENV, readManifest } from "./cli-bundle.js";

const invoked = process.argv[2];
const dist = distDirOf(import.meta.url);
const noBundle = (process.env[NO_BUNDLE_ENV] ?? "") !== "" && process.env[NO_BUNDLE_ENV] !== "0";
const manifest = noBundle ? null : readManifest(dist);
const holdsCommand = invoked === "--version" || invoked === "-V" || (invoked !== undefined && manifest?.commands.includes(invoked) === true);

if (manifest !== null && holdsCommand && bundleIsCurrent(manifest, dist)) {
  const { load, saveCodeCache } = loadBundle(dist, manifest);
  const { runCli } = load("cli/program.js") as typeof import("./program.js");
  await runCli();
  saveCodeCache();
} else {
  const { runCli } = await import("./program.js");
  await runCli();
}
