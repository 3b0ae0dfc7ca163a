/**
 * A damaged trace is refused rather than answering wrongly: the kernel image's checksum and the table
 * checksums are compared on open, numbers that become sizes are range-checked, and `ttd info
 * --verify` checks everything and names what is damaged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { deflateRawSync } from "node:zlib";
import { beforeAll, describe, expect, test } from "vitest";
import { Trace } from "../../src/trace/trace.js";
import { TraceError } from "../../src/trace/errors.js";
import { kernel, readImage, recordInline, requireBuiltCli, tmpDir, ttd } from "./helpers.js";

let dir: string;
let good: string;
let goodBytes: Buffer;

beforeAll(async () => {
  requireBuiltCli();
  dir = tmpDir();
  good = path.join(dir, "good.trace");
  await recordInline(kernel("idle-bug.elf"), good);
  goodBytes = fs.readFileSync(good);
});

let n = 0;
/** A copy of the good trace with its bytes changed by `edit`. */
function bytesVariant(edit: (b: Buffer) => void): string {
  const p = path.join(dir, `v${n++}.trace`);
  const b = Buffer.from(goodBytes);
  edit(b);
  fs.writeFileSync(p, b);
  return p;
}

/** A copy of the good trace changed through SQL (a consistent file, so SQLite itself sees no damage). */
function sqlVariant(sql: string): string {
  const p = path.join(dir, `v${n++}.trace`);
  fs.writeFileSync(p, goodBytes);
  const db = new Database(p);
  db.exec(sql);
  db.close();
  return p;
}

function openError(p: string): string {
  try {
    Trace.open(p).close();
  } catch (e) {
    expect(e).toBeInstanceOf(TraceError);
    const msg = (e as Error).message;
    expect(msg.startsWith(p)).toBe(true);
    expect(msg).not.toContain("\n");
    return msg;
  }
  throw new Error(`${p} opened without error`);
}

function expectCliRefused(args: string[], p: string, pattern: RegExp): void {
  const r = ttd(args);
  expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(p);
  expect(lines[0]).toMatch(pattern);
  expect(r.stdout).toBe("");
}

describe("the kernel image", () => {
  test("one changed byte of the stored ELF: refused on open, by info and by why-write", () => {
    // Where the ELF's bytes sit in the file: find a run of them unique enough to locate.
    const image = readImage(kernel("idle-bug.elf"));
    const probe = Buffer.from(image.subarray(0x1000, 0x1040));
    const at = goodBytes.indexOf(probe);
    expect(at).toBeGreaterThan(0);
    const p = bytesVariant((b) => {
      b[at + 0x11] ^= 0x01;
    });
    expect(openError(p)).toMatch(/kernel image fails its checksum/);
    expectCliRefused(["info", p], p, /kernel image fails its checksum/);
    expectCliRefused(["why-write", "ksIdleThread->tcbArch.tcbContext.registers[Error]", "--trace", p, "--at", "fault"], p, /kernel image/);
  });

  test("a stored checksum that is not a SHA-256, or a size that disagrees with the bytes, is refused", () => {
    expect(openError(sqlVariant("UPDATE image SET sha256 = '../../etc'"))).toMatch(/not a SHA-256/);
    expect(openError(sqlVariant("UPDATE image SET size = size + 1"))).toMatch(/its row says/);
    expect(openError(sqlVariant("INSERT INTO image SELECT * FROM image"))).toMatch(/2 kernel images/);
  });
});

describe("numbers that become sizes", () => {
  test.each([
    ["memory_bytes", "99999999999999", /memory_bytes/],
    ["memory_bytes", "1000", /memory_bytes/],
    ["memory_bytes", "1.5e8", /memory_bytes/],
    ["chunk_steps", "0", /chunk_steps/],
    ["keyframe_steps", "100", /keyframe_steps/],
    ["start_step", "-1", /start_step/],
    ["steps", "100.5", /'steps'/],
  ])("meta %s = %s is refused", (key, value, pattern) => {
    expect(openError(sqlVariant(`UPDATE meta SET value = '${value}' WHERE key = '${key}'`))).toMatch(pattern);
  });

  test("progress and keyframe steps outside the trace are refused", () => {
    expect(openError(sqlVariant("DELETE FROM meta WHERE key = 'end_reason'; UPDATE progress SET steps = -5"))).toMatch(/progress\.steps/);
    expect(openError(sqlVariant("INSERT INTO keyframe(step, state) VALUES (999999999, x'00')"))).toMatch(/keyframe/);
  });
});

describe("hostile content (checksums recomputed, or a trace without them)", () => {
  /** A copy without table checksums, changed by `edit`: what a crafted file can always look like. */
  function crafted(edit: (db: Database.Database) => void): string {
    const p = sqlVariant("DROP TABLE IF EXISTS digest");
    const db = new Database(p);
    edit(db);
    db.close();
    return p;
  }

  test("a keyframe state of the wrong shape, or a page number outside RAM: a TraceError, not a crash", () => {
    const shapes = ['{"cpu": 1}', "[]", '{"cpu": {"regs": "x"}, "devices": null}'];
    for (const state of shapes) {
      const p = crafted((db) => db.prepare("UPDATE keyframe SET state = ?").run(deflateRawSync(Buffer.from(state))));
      const t = Trace.open(p);
      try {
        expect(() => t.stateAt(10)).toThrow(TraceError);
      } finally {
        t.close();
      }
    }
    const p = crafted((db) => db.exec("UPDATE page SET page = 99999999 WHERE rowid = (SELECT min(rowid) FROM page)"));
    const t = Trace.open(p);
    try {
      expect(() => t.stateAt(10)).toThrow(/page number, 99999999, is outside the guest's RAM/);
    } finally {
      t.close();
    }
  });
});

describe("table checksums", () => {
  test("a changed event, output byte or index row is refused on open", () => {
    expect(openError(sqlVariant("UPDATE event SET vector = 14 WHERE kind = 2"))).toMatch(/table event fails its checksum/);
    expect(openError(sqlVariant("UPDATE serial SET byte = 88 WHERE rowid = 3"))).toMatch(/table serial fails its checksum/);
    expect(openError(sqlVariant("UPDATE write_index SET last_chunk = last_chunk WHERE 0; UPDATE write_index SET entries = x'0001' || entries WHERE line = (SELECT min(line) FROM write_index)"))).toMatch(
      /table write_index fails its checksum/,
    );
    // What the command line says about it.
    const p = sqlVariant("UPDATE page SET data = data WHERE 0; UPDATE keyframe SET state = state || x'00'");
    expectCliRefused(["info", p], p, /table keyframe fails its checksum/);
  });

  test("the good trace opens; info says what it checked", () => {
    const r = ttd(["info", good, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { checked: string[] };
    expect(j.checked).toContain("image checksum");
    expect(j.checked).toContain("checksums of all 13 tables");
  });
});

describe("ttd info --verify", () => {
  test("checks every table and decodes every blob; names what is damaged", () => {
    const ok = ttd(["info", good, "--verify"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/checked: .*SQLite integrity_check, every stored blob decoded/);
    // A trace without table checksums (finalized by an older ttd) whose stored page does not decode:
    // only the full check finds it.
    const p = sqlVariant("DROP TABLE digest; UPDATE page SET data = x'0011223344' WHERE rowid = (SELECT max(rowid) FROM page)");
    expect(ttd(["info", p]).status).toBe(0);
    expectCliRefused(["info", p, "--verify"], p, /1 stored page does not decode \(first: page \d+ of keyframe 0\)/);
    const q = sqlVariant("DROP TABLE digest; UPDATE keyframe SET state = x'00'");
    expectCliRefused(["info", q, "--verify"], q, /keyframe state does not decode \(first: step 0\)/);
  });
});
