/**
 * The instruction-address plugin for QEMU (qemu-insn-trace.c): built once with the host's C compiler
 * into the cache folder, keyed by the source's hash, and the `-plugin` option that loads it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultCacheDir, QemuLogError } from "./qemu-log.js";

/** The C source: beside this file in src/, or in src/ when this runs from dist/. */
function pluginSource(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, "qemu-insn-trace.c"), path.join(here, "..", "..", "src", "bench", "qemu-insn-trace.c")]) {
    if (fs.existsSync(p)) return p;
  }
  throw new QemuLogError(`qemu-insn-trace.c not found near ${here}`);
}

/** A C compiler on PATH ($CC first). */
function cCompiler(): string {
  for (const cc of [process.env.CC, "cc", "gcc", "clang"]) {
    if (cc && spawnSync(cc, ["--version"], { stdio: "ignore" }).status === 0) return cc;
  }
  throw new QemuLogError("no C compiler (cc, gcc or clang) to build QEMU's instruction-address plugin: install gcc");
}

/** The plugin's shared object, built if the cache does not have this source's build yet. */
export function insnTracePlugin(cacheDir = defaultCacheDir()): string {
  const source = pluginSource();
  const hash = createHash("sha256").update(fs.readFileSync(source)).digest("hex").slice(0, 16);
  const so = path.join(cacheDir, `qemu-insn-trace-${hash}.so`);
  if (fs.existsSync(so)) return so;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${so}.${process.pid}.tmp`;
  try {
    execFileSync(cCompiler(), ["-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-Wall", "-Werror", "-o", tmp, source], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const said = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
    throw new QemuLogError(`building QEMU's instruction-address plugin failed${said ? `: ${said}` : ""}`);
  }
  // Renamed into place, so a concurrent run never loads half a file.
  fs.renameSync(tmp, so);
  return so;
}

/** QEMU's `-plugin` argument: write every executed instruction's address to `out` from `start` on. */
export function insnTracePluginArgs(so: string, out: string, start: number): string[] {
  return ["-plugin", `${so},out=${out},start=0x${(start >>> 0).toString(16)}`];
}
