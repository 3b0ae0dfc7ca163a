/**
 * The recorder and the non-memory queries through the library: determinism of the file, events and
 * output with their steps, "last change of a register" and step-by-step cursors against references
 * computed by single-stepping a fresh machine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { StepKind, type CpuObserver } from "../../src/cpu/observer.js";
import { Recorder } from "../../src/trace/recorder.js";
import { Trace } from "../../src/trace/trace.js";
import { registerReader, REGISTER_NAMES } from "../../src/trace/registers.js";
import { buildGuest, canBuildGuests, downgradeTrace, kernel, lcg, readImage, recordInline, tmpDir, type Recorded } from "./helpers.js";
import { FORMAT_VERSION } from "../../src/trace/format.js";
import { createHash } from "node:crypto";
import { workload } from "../guests.js";
import { tableDigest } from "../../src/trace/digest.js";

const MEM = 32;

/** Every table but meta (which names the time and the command line), as text. */
function dump(file: string): string {
  const db = new Database(file, { readonly: true });
  const out: string[] = [];
  for (const t of ["image", "progress", "keyframe", "page", "write_index", "event", "serial", "port_index"]) {
    for (const row of db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).raw().all() as unknown[][]) {
      out.push(t + ":" + row.map((v) => (Buffer.isBuffer(v) ? v.toString("hex") : String(v))).join(","));
    }
  }
  db.close();
  return out.join("\n");
}

describe("recording", () => {
  test("is deterministic: two recordings of one image hold the same data", async () => {
    const dir = tmpDir();
    const a = await recordInline(kernel("idle-bug.elf"), path.join(dir, "a.trace"), { memoryMiB: MEM, chunkSteps: 4096, keyframeSteps: 16384 });
    const b = await recordInline(kernel("idle-bug.elf"), path.join(dir, "b.trace"), { memoryMiB: MEM, chunkSteps: 4096, keyframeSteps: 16384 });
    expect(a.result.steps).toBe(b.result.steps);
    expect(dump(a.path)).toBe(dump(b.path));
  });

  test("the page and keyframe digests built while writing are those of the rows read back", async () => {
    const rec = await recordInline(kernel("idle-bug.elf"), path.join(tmpDir(), "d.trace"), { memoryMiB: MEM, chunkSteps: 4096, keyframeSteps: 16384 });
    const db = new Database(rec.path, { readonly: true });
    try {
      for (const name of ["page", "keyframe"]) {
        const stored = db.prepare("SELECT rows, sha256 FROM digest WHERE name = ?").get(name) as { rows: number; sha256: string };
        const read = tableDigest(db, name);
        expect(read.rows).toBeGreaterThan(1);
        expect(stored).toEqual({ rows: read.rows, sha256: read.sha256 });
      }
    } finally {
      db.close();
    }
  });

  test("refuses to overwrite an existing file", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "exists.trace");
    fs.writeFileSync(file, "keep");
    await expect(recordInline(workload("workload-r1.elf"), file, { maxSteps: 100 })).rejects.toThrow(/EEXIST/);
    expect(fs.readFileSync(file, "utf8")).toBe("keep");
  });

  test("finishes into a complete trace even while another connection reads it", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "busy.trace");
    const image = readImage(workload("workload-r1.elf"));
    const machine = Machine.fromElf(image, { memoryMiB: MEM });
    let reader: Database.Database | null = null;
    const rec = new Recorder(machine, {
      path: file,
      image,
      imageName: "workload-r1.elf",
      maxSteps: 1_000_000,
      onCreated: () => {
        reader = new Database(file, { readonly: true });
        reader.prepare("SELECT steps FROM progress").get();
      },
    });
    const r = await rec.run();
    expect(r.steps).toBe(1_000_000);
    const trace = Trace.open(file);
    expect(trace.complete).toBe(true);
    expect(trace.steps).toBe(1_000_000);
    trace.close();
    (reader as Database.Database | null)?.close();
  });

  test("metadata: format, tool version, image hash, memory, command line, how it ended", async () => {
    const rec = await recordInline(kernel("idle-bug.elf"), path.join(tmpDir(), "m.trace"), { memoryMiB: MEM });
    const trace = Trace.open(rec.path);
    try {
      const info = trace.info();
      expect(info.formatVersion).toBe(FORMAT_VERSION);
      expect(info.toolVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.image.name).toBe("idle-bug.elf");
      const { createHash } = await import("node:crypto");
      expect(info.image.sha256).toBe(createHash("sha256").update(rec.image).digest("hex"));
      expect(Buffer.compare(Buffer.from(trace.image().data), Buffer.from(rec.image))).toBe(0);
      expect(info.memoryBytes).toBe(MEM << 20);
      expect(info.end).toEqual({ reason: "exit", detail: expect.stringContaining("isa-debug-exit"), exitStatus: 35 });
      expect(info.complete).toBe(true);
    } finally {
      trace.close();
    }
  });
});

/** Reference events and output of a run: what a bare observer and onSerial see. */
function reference(image: Uint8Array, steps: number) {
  const m = Machine.fromElf(image, { memoryMiB: MEM });
  const events: { step: number; kind: number; vector: number; errorCode: number; eip: number; cplBefore: number; cplAfter: number }[] = [];
  const output: { step: number; byte: number }[] = [];
  const ports: { step: number; port: number; size: number; value: number; direction: string }[] = [];
  const obs: CpuObserver = {
    onMemoryWrite() {},
    onEvent(kind, step, vector, errorCode, eip, cplBefore, cplAfter) {
      events.push({ step, kind, vector, errorCode, eip: eip >>> 0, cplBefore, cplAfter });
    },
    onPortIo(port, size, value, isWrite) {
      ports.push({ step: m.cpu.steps, port, size, value: size === 4 ? value >>> 0 : value, direction: isWrite ? "out" : "in" });
    },
  };
  m.cpu.observer = obs;
  m.onSerial = (byte) => output.push({ step: m.cpu.steps, byte });
  m.run({ maxSteps: steps });
  return { events, output, ports };
}

const KIND_NAMES = ["instruction", "interrupt", "exception", "software-interrupt", "fault"];

describe("stored pages and states", () => {
  test("a trace in the older encoding (format 3) replays to the same states as the new one", async () => {
    const dir = tmpDir();
    const rec = await recordInline(workload("workload-r1.elf"), path.join(dir, "new.trace"), { memoryMiB: MEM, chunkSteps: 4096, keyframeSteps: 16384 });
    const old = path.join(dir, "old.trace");
    fs.copyFileSync(rec.path, old);
    downgradeTrace(old, 3);
    const a = Trace.open(rec.path, { verify: "full" }), b = Trace.open(old, { verify: "full" });
    try {
      expect(a.info().formatVersion).toBe(FORMAT_VERSION);
      expect(b.info().formatVersion).toBe(3);
      // Most versions of the pages the guest keeps rewriting are stored as deltas.
      const db = new Database(rec.path, { readonly: true });
      const tags = db.prepare("SELECT substr(data, 1, 1) AS t, count(*) AS n FROM page WHERE length(data) > 0 GROUP BY t").all() as { t: Buffer; n: number }[];
      db.close();
      const delta = tags.find((r) => r.t[0] === 2)?.n ?? 0;
      expect(delta).toBeGreaterThan(tags.reduce((n, r) => n + r.n, 0) / 2);
      const memory = (t: Trace, step: number) => createHash("sha256").update(t.stateAt(step).machine.mem.u8).digest("hex");
      for (const step of [0, 20_000, Math.floor(a.steps / 2), a.steps - 1]) {
        expect(a.stateAt(step).machine.cpu.eip).toBe(b.stateAt(step).machine.cpu.eip);
        expect(memory(a, step)).toBe(memory(b, step));
      }
    } finally {
      a.close();
      b.close();
    }
  }, 120_000);
});

describe.each([
  { name: "idle-bug", elf: () => kernel("idle-bug.elf") },
  { name: "idle-fixed", elf: () => kernel("idle-fixed.elf") },
  ...(canBuildGuests ? [{ name: "the writes guest", elf: () => buildGuest("writes") }] : []),
])("events, output, registers and cursors of $name", ({ elf }) => {
  let rec: Recorded;
  let trace: Trace;
  beforeAll(async () => {
    rec = await recordInline(elf(), path.join(tmpDir(), "e.trace"), { memoryMiB: MEM, chunkSteps: 2048, keyframeSteps: 8192 });
    trace = Trace.open(rec.path);
    return () => trace.close();
  });

  test("every interrupt, exception, fault and int n, with its step, vector, error code, EIP and CPLs", () => {
    const ref = reference(rec.image, rec.result.steps);
    expect(ref.events.length).toBeGreaterThan(0);
    expect(trace.events().map((e) => ({ step: e.step, kind: e.kind, vector: e.vector, errorCode: e.errorCode, eip: e.eip, cplBefore: e.cplBefore, cplAfter: e.cplAfter }))).toEqual(
      ref.events.map((e) => ({ ...e, kind: KIND_NAMES[e.kind], errorCode: e.errorCode < 0 ? null : e.errorCode })),
    );
    // A window of events.
    const mid = ref.events[Math.floor(ref.events.length / 2)];
    expect(trace.events(mid.step, mid.step + 1).map((e) => e.step)).toEqual(ref.events.filter((e) => e.step === mid.step).map((e) => e.step));
  });

  test("guest output bytes with the step of each", () => {
    const ref = reference(rec.image, rec.result.steps);
    expect(trace.output().map((o) => ({ step: o.step, byte: o.byte }))).toEqual(ref.output);
    expect(String.fromCharCode(...trace.output().map((o) => o.byte))).toBe(rec.serial);
  });

  test("port accesses, all or one port, in a step range", () => {
    const ref = reference(rec.image, rec.result.steps);
    expect(ref.ports.length).toBeGreaterThan(0);
    const strip = (p: { step: number; port: number; size: number; value: number; direction: string }) => ({ step: p.step, port: p.port, size: p.size, value: p.value, direction: p.direction });
    expect(trace.portIo(null).map(strip)).toEqual(ref.ports);
    const com1 = ref.ports.filter((p) => p.port === 0x3f8);
    expect(trace.portIo(0x3f8).map(strip)).toEqual(com1);
    const mid = ref.ports[Math.floor(ref.ports.length / 2)].step;
    expect(trace.portIo(null, mid, trace.steps).map(strip)).toEqual(ref.ports.filter((p) => p.step >= mid));
  });

  test("cursor records: registers before each step equal stateAt, kinds match the events", () => {
    const events = trace.events();
    const rand = lcg(5);
    const starts = [0, ...events.map((e) => Math.max(0, e.step - 20)), Math.floor(rand() * trace.steps)];
    for (const start of starts) {
      const cur = trace.cursor(start);
      const records = [];
      for (let i = 0; i < 40; i++) {
        const r = cur.next();
        if (r === null) break;
        records.push(r);
      }
      for (const r of records) {
        expect(trace.stateAt(r.step).regs).toEqual(r.regs);
        const ev = events.find((e) => e.step === r.step);
        const expectedKind = ev === undefined || ev.kind === "software-interrupt" ? "instruction" : ev.kind;
        expect(r.kind, `step ${r.step}`).toBe(expectedKind);
        if (ev !== undefined) expect(r.vector).toBe(ev.vector);
      }
      if (records.length < 40) expect(records[records.length - 1]?.step ?? start).toBe(trace.steps - 1);
    }
  });

  test("lastRegisterChange agrees with single-stepping", () => {
    // Reference: every register's value after each step, from a fresh machine in the interpreter.
    const names = REGISTER_NAMES.filter((n) => !["eip"].includes(n));
    const readers = names.map((n) => registerReader(n)!);
    const m = Machine.fromElf(rec.image, { memoryMiB: MEM, compile: false });
    const values: number[][] = [readers.map((r) => r(m.cpu))];
    while (m.cpu.steps < rec.result.steps) {
      m.step();
      values.push(readers.map((r) => r(m.cpu)));
    }
    const rand = lcg(9);
    for (let i = 0; i < 40; i++) {
      const k = Math.floor(rand() * names.length);
      const before = 1 + Math.floor(rand() * rec.result.steps);
      let expected: number | null = null;
      for (let s = before - 1; s >= 0; s--) {
        if (values[s + 1][k] !== values[s][k]) {
          expected = s;
          break;
        }
      }
      const got = trace.lastRegisterChange(names[k], before);
      expect(got?.step ?? null, `${names[k]} before ${before}`).toBe(expected);
      if (got !== null) {
        expect(got.before).toBe(values[got.step][k]);
        expect(got.after).toBe(values[got.step + 1][k]);
      }
    }
    expect(() => trace.lastRegisterChange("xyz", 10)).toThrow(/unknown register/);
  });
});

test("StepKind numbering is what the trace format documents", () => {
  // docs/trace-format.md lists event kinds by these numbers; a renumbering must bump the format.
  expect([StepKind.Instruction, StepKind.Interrupt, StepKind.Exception, StepKind.SoftwareInterrupt, StepKind.Fault]).toEqual([0, 1, 2, 3, 4]);
});
