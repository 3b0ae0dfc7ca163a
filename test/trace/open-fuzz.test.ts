/**
 * Fuzzing the opening of traces and bundles: random byte flips, overwritten runs and truncations of a
 * real trace and a real bundle. Every variant either opens and answers exactly as the original did,
 * or is refused with one line naming the file (a TraceError or BundleError; exit status 2 from the
 * command line). Never another exception, never a different answer.
 *
 * Most cases go through the library's open path in this process (cheap); a few through the compiled
 * command line, to see the exit status and the single line on stderr. The generator is seeded, so a
 * failure names a case that can be replayed: set TTD_FUZZ_SEED to explore other ones.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openRecording, type Recording } from "../../src/bundle/open.js";
import { packRecording } from "../../src/bundle/pack.js";
import { kernel, lcg, recordInline, requireBuiltCli, tmpDir, ttd } from "./helpers.js";

const SEED = Number(process.env.TTD_FUZZ_SEED ?? 17);
const TRACE_CASES = Number(process.env.TTD_FUZZ_CASES ?? 600);
const BUNDLE_CASES = Number(process.env.TTD_FUZZ_CASES ?? 1500);

let dir: string;
let cache: string;
let tracePath: string;
let bundlePath: string;
let traceBytes: Buffer;
let bundleBytes: Buffer;
let traceAnswers: string;
let bundleAnswers: string;

/**
 * How the fuzzed recordings are made: each variant that opens replays on a fresh machine, so a small
 * RAM and close keyframes keep a case cheap (and give the file many keyframes, pages and index rows
 * to damage).
 */
const RECORDING = { memoryMiB: 8, chunkSteps: 1024, keyframeSteps: 4096 };

/** The idle TCB's registers[Error] (ksIdleThreadTCB + 0x624): the word the demo bug damages. */
const ERROR_SLOT_OFFSET = 0x624;

/**
 * What the commands ask of a recording, as one string: metadata, counts, events, guest output, the
 * state at the fault, the last write to the damaged word with its symbol and line, bookmarks, a
 * source line. Paths are left out (each variant is a different file).
 */
function answers(rec: Recording): string {
  const t = rec.trace;
  const { path: _path, ...info } = t.info();
  const events = t.events();
  const fault = events.find((e) => e.kind === "fault");
  const at = fault?.step ?? t.steps;
  const st = t.stateAt(at);
  const regs = st.regs;
  const stack = st.readLinear(regs.esp, 64);
  const tcb = rec.symbols?.variable("ksIdleThreadTCB")?.address;
  const w = tcb === undefined ? null : t.lastWrite({ address: tcb + ERROR_SLOT_OFFSET, size: 4 }, at);
  const where = w === null ? null : { fn: rec.symbols?.symbolize(w.eip), line: rec.symbols?.sourceAt(w.eip) };
  const line = where?.line;
  const text = line === undefined || line === null ? null : rec.sources.line(line.file, line.line);
  return JSON.stringify({
    info,
    summary: t.summary(),
    events,
    output: Buffer.from(t.output().map((o) => o.byte)).toString("latin1"),
    regs,
    stack: stack === null ? null : Buffer.from(stack).toString("hex"),
    write: w,
    where,
    text,
    image: { name: rec.image.name, sha256: rec.image.sha256, bytes: rec.image.data.length },
    bookmarks: rec.bookmarks(),
    note: rec.bundle?.note ?? null,
  });
}

/** Opens `file` and answers, or returns the one-line refusal; anything else fails the test. */
function outcome(file: string): { refused: string } | { answers: string } {
  let rec: Recording;
  try {
    rec = openRecording(file, { cacheDir: cache });
  } catch (e) {
    return { refused: refusal(file, e) };
  }
  try {
    return { answers: answers(rec) };
  } catch (e) {
    // Damage found by a query rather than on open: allowed, if it is the same one-line refusal.
    return { refused: refusal(file, e) };
  } finally {
    rec.close();
  }
}

function refusal(file: string, e: unknown): string {
  if (!(e instanceof Error) || (e.name !== "TraceError" && e.name !== "BundleError")) {
    throw new Error(`${file}: not a one-line refusal but ${e instanceof Error ? e.stack : String(e)}`);
  }
  if (!e.message.startsWith(file) || e.message.includes("\n")) throw new Error(`${file}: refusal does not name the file in one line: ${e.message}`);
  return e.message;
}

type Damage = { kind: "flip"; at: number; mask: number } | { kind: "overwrite"; at: number; bytes: number[] } | { kind: "truncate"; length: number };

/** The damage of case `i`: mostly single-bit and single-byte flips, some overwritten runs and truncations. */
function damageFor(rand: () => number, size: number): Damage {
  const r = rand();
  const at = Math.floor(rand() * size);
  if (r < 0.6) return { kind: "flip", at, mask: 1 << Math.floor(rand() * 8) };
  if (r < 0.8) return { kind: "flip", at, mask: 1 + Math.floor(rand() * 255) };
  if (r < 0.9) {
    const n = 2 + Math.floor(rand() * 30);
    return { kind: "overwrite", at, bytes: Array.from({ length: n }, () => Math.floor(rand() * 256)) };
  }
  // Truncations favour the end of the file (where a copy cut short would end), and sometimes the header.
  const length = rand() < 0.2 ? Math.floor(rand() * 200) : Math.floor(size * (0.5 + rand() * 0.5));
  return { kind: "truncate", length: Math.min(length, size - 1) };
}

function applyDamage(original: Buffer, d: Damage): Buffer {
  if (d.kind === "truncate") return Buffer.from(original.subarray(0, d.length));
  const b = Buffer.from(original);
  if (d.kind === "flip") b[d.at] ^= d.mask;
  else for (let i = 0; i < d.bytes.length && d.at + i < b.length; i++) b[d.at + i] = d.bytes[i];
  return b;
}

function describeDamage(d: Damage): string {
  if (d.kind === "flip") return `byte ${d.at} xor 0x${d.mask.toString(16)}`;
  if (d.kind === "overwrite") return `${d.bytes.length} bytes overwritten at ${d.at}`;
  return `truncated to ${d.length} bytes`;
}

interface FuzzResult {
  same: number;
  refused: number;
  /** A few variants of each outcome, kept for the command-line cases. */
  keptSame: string[];
  keptRefused: string[];
  /** Time spent on each outcome (TTD_FUZZ_STATS prints it). */
  sameMs: number;
  refusedMs: number;
}

function fuzz(original: Buffer, expected: string, suffix: string, cases: number, seed: number): FuzzResult {
  const rand = lcg(seed);
  const res: FuzzResult = { same: 0, refused: 0, keptSame: [], keptRefused: [], sameMs: 0, refusedMs: 0 };
  const scratch = path.join(dir, `case${suffix}`);
  for (let i = 0; i < cases; i++) {
    const d = damageFor(rand, original.length);
    fs.writeFileSync(scratch, applyDamage(original, d));
    let o;
    const t0 = performance.now();
    try {
      o = outcome(scratch);
    } catch (e) {
      throw new Error(`case ${i} (seed ${seed}, ${describeDamage(d)}): ${(e as Error).message}`);
    }
    const keep = (list: string[]) => {
      if (list.length >= 1) return;
      const p = path.join(dir, `kept-${list === res.keptSame ? "same" : "refused"}-${list.length}${suffix}`);
      fs.copyFileSync(scratch, p);
      list.push(p);
    };
    const ms = performance.now() - t0;
    if ("refused" in o) res.refusedMs += ms;
    else res.sameMs += ms;
    if ("refused" in o) {
      res.refused++;
      keep(res.keptRefused);
    } else {
      if (o.answers !== expected) throw new Error(`case ${i} (seed ${seed}, ${describeDamage(d)}): opened but answered differently`);
      res.same++;
      keep(res.keptSame);
    }
  }
  return res;
}

beforeAll(async () => {
  requireBuiltCli();
  dir = tmpDir();
  cache = path.join(dir, "cache");
  tracePath = path.join(dir, "idle-bug.trace");
  await recordInline(kernel("idle-bug.elf"), tracePath, RECORDING);
  const rec = openRecording(tracePath, { cacheDir: cache });
  try {
    rec.setBookmark({ name: "fault", step: rec.trace.events().find((e) => e.kind === "fault")!.step, note: "the #GP" });
    bundlePath = path.join(dir, "idle-bug.ttdb");
    packRecording(rec, bundlePath, { note: "fuzzed", packed: new Date(0) });
  } finally {
    rec.close();
  }
  // The bookmark lives in a side table of the plain trace: fuzz the trace without it, as recorded.
  tracePath = path.join(dir, "plain.trace");
  await recordInline(kernel("idle-bug.elf"), tracePath, RECORDING);
  traceBytes = fs.readFileSync(tracePath);
  bundleBytes = fs.readFileSync(bundlePath);
  const t = outcome(tracePath);
  const b = outcome(bundlePath);
  if (!("answers" in t) || !("answers" in b)) throw new Error("the undamaged recordings do not open");
  traceAnswers = t.answers;
  bundleAnswers = b.answers;
}, 120_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

let traceResult: FuzzResult;
let bundleResult: FuzzResult;

describe("damaged traces and bundles: refused in one line, or the same answers", () => {
  test("the undamaged trace and bundle answer the questions (the comparison is not empty)", () => {
    const t = JSON.parse(traceAnswers) as { write: { step: number } | null; where: { fn: string } | null; events: unknown[]; output: string };
    expect(t.write).not.toBeNull();
    expect(t.where?.fn).toMatch(/^idle_thread/);
    expect(t.events.length).toBeGreaterThan(0);
    expect(t.output.length).toBeGreaterThan(100);
    const b = JSON.parse(bundleAnswers) as { note: string; bookmarks: unknown[]; text: string | null };
    expect(b.note).toBe("fuzzed");
    expect(b.bookmarks).toHaveLength(1);
    expect(b.text).not.toBeNull();
  });

  test(`${TRACE_CASES} damaged traces`, () => {
    const t0 = performance.now();
    traceResult = fuzz(traceBytes, traceAnswers, ".trace", TRACE_CASES, SEED);
    if (process.env.TTD_FUZZ_STATS) console.log(`traces: ${traceResult.same} same (${traceResult.sameMs.toFixed(0)} ms), ${traceResult.refused} refused (${traceResult.refusedMs.toFixed(0)} ms), ${(performance.now() - t0).toFixed(0)} ms`);
    expect(traceResult.same + traceResult.refused).toBe(TRACE_CASES);
    // Both outcomes occur (flips in free space change nothing; most others are caught).
    expect(traceResult.refused).toBeGreaterThan(0);
    expect(traceResult.same).toBeGreaterThan(0);
  }, 240_000);

  test(`${BUNDLE_CASES} damaged bundles`, () => {
    bundleResult = fuzz(bundleBytes, bundleAnswers, ".ttdb", BUNDLE_CASES, SEED + 1);
    expect(bundleResult.same + bundleResult.refused).toBe(BUNDLE_CASES);
    // Checksums cover every byte of a bundle: no change goes unnoticed.
    expect(bundleResult.same).toBe(0);
  }, 240_000);

  test("through the command line: exit 2 with one line, or the same answer as the original", () => {
    const env = { TTD_CACHE_DIR: cache };
    const run = (args: string[]) => {
      const saved = process.env.TTD_CACHE_DIR;
      process.env.TTD_CACHE_DIR = env.TTD_CACHE_DIR;
      try {
        return ttd(args, { cwd: dir });
      } finally {
        if (saved === undefined) delete process.env.TTD_CACHE_DIR;
        else process.env.TTD_CACHE_DIR = saved;
      }
    };
    const query = (file: string) => ["why-write", "ksIdleThread->tcbArch.tcbContext.registers[Error]", "--trace", file, "--at", "fault", "--json"];
    const expected = { trace: run(query(tracePath)), bundle: run(query(bundlePath)) };
    expect(expected.trace.status, expected.trace.stderr).toBe(0);
    expect(expected.bundle.status, expected.bundle.stderr).toBe(0);
    const cases: [string, "trace" | "bundle"][] = [
      [traceResult.keptSame[0], "trace"],
      [traceResult.keptRefused[0], "trace"],
      [bundleResult.keptRefused[0], "bundle"],
    ];
    expect(cases.every(([f]) => f !== undefined)).toBe(true);
    for (const [file, kind] of cases) {
      const r = run(query(file));
      if (r.status === 0) {
        expect(r.stdout.split(file).join("X"), file).toBe(expected[kind].stdout.split(kind === "trace" ? tracePath : bundlePath).join("X"));
      } else {
        expect(r.status, `${file}: ${r.stderr}`).toBe(2);
        const lines = r.stderr.trim().split("\n");
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toContain(file);
        expect(r.stdout).toBe("");
      }
    }
  }, 180_000);
});
