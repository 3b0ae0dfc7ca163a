/** Shared fixtures for the trace tests: guest paths, temporary files, recording, the compiled CLI. */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { Machine } from "../../src/machine/machine.js";
import { Recorder, type RecordResult } from "../../src/trace/recorder.js";
import { TraceStore } from "../../src/trace/store.js";
import { writeDigests } from "../../src/trace/digest.js";
import { deflateRawSync } from "node:zlib";
import { assembleGuest, canAssembleGuests } from "../guests/assemble.js";
import { testTmpDir } from "../tmp-dirs.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const KERNEL_DIR = path.join(REPO, "src/kernel/build");
export const CLI = path.join(REPO, "dist/cli/main.js");

export const kernel = (name: string) => path.join(KERNEL_DIR, name);

/** A fresh temporary directory, removed when the test file has finished (see tmp-dirs.ts). */
export function tmpDir(): string {
  return testTmpDir("ttd-trace-test-");
}

export function readImage(p: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(p));
}

export interface Recorded {
  path: string;
  result: RecordResult;
  serial: string;
  image: Uint8Array;
}

/** Records `elfPath` in this process (the writer runs inline under the test runner). */
export async function recordInline(
  elfPath: string,
  out: string,
  opts: { memoryMiB?: number; maxSteps?: number; chunkSteps?: number; keyframeSteps?: number } = {},
): Promise<Recorded> {
  const image = readImage(elfPath);
  const machine = Machine.fromElf(image, { memoryMiB: opts.memoryMiB });
  let serial = "";
  const rec = new Recorder(machine, {
    path: out,
    image,
    imageName: path.basename(elfPath),
    maxSteps: opts.maxSteps,
    chunkSteps: opts.chunkSteps,
    keyframeSteps: opts.keyframeSteps,
    onSerial: (b) => { serial += String.fromCharCode(b); },
    onDebugConsole: (b) => { serial += String.fromCharCode(b); },
  });
  const result = await rec.run();
  return { path: out, result, serial, image };
}

/**
 * The CLI tests run the compiled `ttd` (as users do, and so the recorder's worker thread is used).
 * `npm test` builds first; when run alone, fail clearly rather than test stale code.
 */
export function requireBuiltCli(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  // The recorder, the trace library and the commands these tests run (and what they import).
  requireBuilt([
    ...fs.readdirSync(path.join(REPO, "src/trace")).filter((f) => f.endsWith(".ts")).map((f) => path.join("src/trace", f)),
    ...["main", "record", "info", "log", "errors", "json-errors", "step-option", "load-kernel", "run-loop"].map((f) => `src/cli/${f}.ts`),
  ]);
}

/** Fails clearly when the compiled file of any of `sources` (paths under src/) is missing or older. */
export function requireBuilt(sources: readonly string[]): void {
  for (const src of sources) {
    const js = path.join(REPO, "dist", src.slice("src/".length).replace(/\.ts$/, ".js"));
    if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(REPO, src)).mtimeMs) {
      throw new Error(`dist is older than ${src}: run 'npm run build' first`);
    }
  }
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function ttd(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, encoding: "utf8", timeout: opts.timeoutMs ?? 120_000, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function ttdSpawn(args: string[], opts: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a fresh machine for `image` to exactly `step` steps with run() (no faults expected on the way). */
export function freshMachineAt(image: Uint8Array, step: number, memoryMiB?: number): Machine {
  const m = Machine.fromElf(image, { memoryMiB });
  m.run({ maxSteps: step });
  return m;
}

/** Deterministic pseudo-random numbers for picking steps and addresses. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** True when the test guests in guests/ can be assembled (clang and ld.lld). */
export const canBuildGuests = canAssembleGuests;
const built = new Map<string, string>();

/** Assembles and links test/trace/guests/<name>.S once per test file; returns the ELF path. */
export function buildGuest(name: string): string {
  const cached = built.get(name);
  if (cached !== undefined) return cached;
  const src = path.join(here, "guests");
  const elf = assembleGuest(path.join(src, `${name}.S`), path.join(src, "guest.ld"), tmpDir());
  built.set(name, elf);
  return elf;
}

/**
 * Starts `ttd record` of a guest that never ends (guests/forever.S) into `out` and returns once the
 * trace has its first commit (shared by the tests of killed, interrupted and live recordings).
 */
export async function startLong(out: string): Promise<ChildProcess> {
  const child = ttdSpawn(["record", buildGuest("forever"), "-o", out]);
  child.stdout?.resume();
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error("the recording never committed");
    await sleep(20);
    if (!fs.existsSync(out)) continue;
    let db: Database.Database | null = null;
    try {
      db = new Database(out, { readonly: true, fileMustExist: true });
      const steps = db.prepare("SELECT steps FROM progress").pluck().get() as number | undefined;
      if (steps !== undefined && steps > 0) return child;
    } catch {
      // not created yet
    } finally {
      db?.close();
    }
  }
}


/**
 * Starts `ttd gdbserver` with `args` and resolves with the process and the gdb command line it
 * prints for clients (the text after "  gdb "); rejects if the server ends first.
 */
export async function startGdbServer(args: string[], opts: { cwd?: string } = {}): Promise<{ server: ChildProcess; command: string }> {
  const server = spawn(process.execPath, [CLI, "gdbserver", ...args], { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const command = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^ {2}gdb (.*)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    server.on("close", () => reject(new Error(`gdbserver ended: ${out}`)));
  });
  return { server, command };
}

/**
 * Rewrites a trace recorded now into the encoding of format 1-3 (pages told apart by length, keyframe
 * states deflated alone) and labels it `version`, as an older ttd would have written it.
 */
export function downgradeTrace(file: string, version: number): void {
  const store = TraceStore.open(file);
  const pages = (store["db"] as Database.Database).prepare("SELECT keyframe, page FROM page").raw(true).all() as [number, number][];
  const bytes = pages.map(([kf, page]) => store.pageBytes(page, kf));
  const states = Array.from(store.keyframes, (kf) => [kf, store.keyframeStateText(kf)] as const);
  store.close();
  const db = new Database(file);
  const putPage = db.prepare("UPDATE page SET data = ? WHERE keyframe = ? AND page = ?");
  const putState = db.prepare("UPDATE keyframe SET state = ? WHERE step = ?");
  db.transaction(() => {
    pages.forEach(([kf, page], i) => {
      const b = bytes[i];
      const z = b === null ? Buffer.alloc(0) : deflateRawSync(b);
      putPage.run(b === null ? z : z.length >= 4096 ? Buffer.from(b) : z, kf, page);
    });
    for (const [kf, text] of states) putState.run(deflateRawSync(text), kf);
    writeDigests(db);
  })();
  db.pragma(`user_version = ${version}`);
  db.close();
}
