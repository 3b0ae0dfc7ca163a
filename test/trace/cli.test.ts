/**
 * The commands as users run them (the compiled CLI, with the recorder's writer thread): record gives
 * what run gives; info and log read traces; damaged, foreign and newer files are refused with exit 2;
 * Ctrl-C finalizes a trace and kill -9 leaves one that answers queries up to its last commit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { multibootCmdline } from "../../src/cli/load-kernel.js";
import { Trace } from "../../src/trace/trace.js";
import { buildGuest, canBuildGuests, kernel, readImage, requireBuiltCli, tmpDir, ttd, startLong, ttdSpawn } from "./helpers.js";
import { workload } from "../guests.js";

beforeAll(() => requireBuiltCli());

/** Steps from `ttd run --json`'s summary line. */
function runSummary(elf: string, extra: string[] = []): { stdout: string; steps: number; status: number | null } {
  const r = ttd(["run", elf, "--json", ...extra]);
  const summary = JSON.parse(r.stderr.trim().split("\n").pop()!) as { steps: number };
  return { stdout: r.stdout, steps: summary.steps, status: r.status };
}

describe("ttd record", () => {
  test.each([
    ["workload-r1", workload("workload-r1.elf"), [] as string[]],
    ["idle-bug", kernel("idle-bug.elf"), []],
    ["idle-fixed", kernel("idle-fixed.elf"), []],
    ["workload-r10 with --max-steps", workload("workload-r10.elf"), ["--max-steps", "5000000"]],
  ])("%s: same serial output, step count and exit status as ttd run", (_name, elf, extra) => {
    const dir = tmpDir();
    const out = path.join(dir, "t.trace");
    const run = runSummary(elf, extra);
    const rec = ttd(["record", elf, "-o", out, ...extra]);
    expect(rec.stdout).toBe(run.stdout);
    expect(rec.status).toBe(run.status);
    expect(rec.stderr).toMatch(new RegExp(`recorded ${run.steps.toLocaleString("en-US")} steps`));
    const info = JSON.parse(ttd(["info", out, "--json"]).stdout) as { steps: number; complete: boolean };
    expect(info.steps).toBe(run.steps);
    expect(info.complete).toBe(true);
    // Finalized: one self-contained file.
    expect(fs.existsSync(out + "-wal")).toBe(false);
  }, 120_000);

  test("without -o: .ttd/<kernel>-<n>.trace, .ttd/latest, and later commands default to it", () => {
    const cwd = tmpDir();
    const elf = workload("workload-r1.elf");
    expect(ttd(["record", elf, "--max-steps", "1000"], { cwd }).status).toBe(4);
    expect(ttd(["record", elf, "--max-steps", "2000"], { cwd }).status).toBe(4);
    expect(fs.readdirSync(path.join(cwd, ".ttd")).sort()).toEqual(["latest", "workload-r1-1.trace", "workload-r1-2.trace"]);
    const info = JSON.parse(ttd(["info", "--json"], { cwd }).stdout) as { steps: number; path: string };
    expect(info.steps).toBe(2000);
    const log = ttd(["log", "--count", "3"], { cwd });
    expect(log.status).toBe(0);
    expect(log.stdout.trim().split("\n")).toHaveLength(3);
  });

  test("never overwrites an existing file without --force", () => {
    const dir = tmpDir();
    const out = path.join(dir, "keep.trace");
    fs.writeFileSync(out, "precious");
    const r = ttd(["record", workload("workload-r1.elf"), "-o", out, "--max-steps", "1000"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${out}: already exists; use --force to overwrite it`);
    expect(fs.readFileSync(out, "utf8")).toBe("precious");
    const f = ttd(["record", workload("workload-r1.elf"), "-o", out, "--max-steps", "1000", "--force"]);
    expect(f.status).toBe(4);
    expect(JSON.parse(ttd(["info", out, "--json"]).stdout).steps).toBe(1000);
  });

  test("a bad kernel image is refused before any file is created", () => {
    const dir = tmpDir();
    const bogus = path.join(dir, "bogus.elf");
    fs.writeFileSync(bogus, "not an elf at all");
    const r = ttd(["record", bogus], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(bogus);
    expect(fs.existsSync(path.join(dir, ".ttd"))).toBe(false);
  });

  test("--help shows examples", () => {
    for (const cmd of ["record", "info", "log"]) {
      const r = ttd([cmd, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("Examples:");
    }
  });
});

describe.skipIf(!canBuildGuests)("interrupted recordings", () => {
  const exited = (child: ReturnType<typeof ttdSpawn>) => {
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
      child.on("close", (code, signal) => resolve({ code, signal, stderr })),
    );
  };

  test("kill -9: the trace opens and answers queries for every step up to its last commit", async () => {
    const dir = tmpDir();
    const out = path.join(dir, "killed.trace");
    const child = await startLong(out);
    const done = exited(child);
    child.kill("SIGKILL");
    expect((await done).signal).toBe("SIGKILL");

    const info = ttd(["info", out, "--json"]);
    expect(info.status).toBe(0);
    const j = JSON.parse(info.stdout) as { complete: boolean; steps: number; end: unknown };
    expect(j.complete).toBe(false);
    expect(j.end).toBeNull();
    expect(j.steps).toBeGreaterThan(0);
    expect(ttd(["info", out]).stdout).toMatch(/incomplete/);

    const trace = Trace.open(out);
    try {
      const last = trace.steps;
      const st = trace.stateAt(last);
      // The kernel sees the command line `ttd record` gives it: its path, a space, no arguments.
      const fresh = Machine.fromElf(readImage(buildGuest("forever")), { cmdline: multibootCmdline(buildGuest("forever"), "") });
      fresh.run({ maxSteps: last });
      expect(JSON.stringify(st.machine.saveState())).toBe(JSON.stringify(fresh.saveState()));
      expect(Buffer.compare(Buffer.from(st.machine.mem.u8.buffer), Buffer.from(fresh.mem.u8.buffer))).toBe(0);
      // Every call writes its return address just below the stack top the first instruction set: the
      // last such write before the end is found and is real.
      const top = trace.stateAt(1).regs.esp;
      const w = trace.lastWrite({ address: (top - 4) >>> 0, size: 4 }, last);
      expect(w).not.toBeNull();
      expect(w!.step).toBeLessThan(last);
      expect(() => trace.stateAt(last + 1)).toThrow(/out of range/);
    } finally {
      trace.close();
    }
    const log = ttd(["log", out, "--from", String(j.steps - 2), "--count", "5", "--json"]);
    expect(log.status).toBe(0);
    expect(log.stdout.trim().split("\n")).toHaveLength(2);
  }, 120_000);

  test("Ctrl-C (SIGINT) finalizes the trace: exit 130, complete, one file", async () => {
    const dir = tmpDir();
    const out = path.join(dir, "int.trace");
    const child = await startLong(out);
    const done = exited(child);
    child.kill("SIGINT");
    const end = await done;
    expect(end.code, end.stderr).toBe(130);
    expect(end.stderr).toMatch(/stopped: interrupted/);
    expect(fs.existsSync(out + "-wal")).toBe(false);
    const j = JSON.parse(ttd(["info", out, "--json"]).stdout) as { complete: boolean; steps: number; end: { reason: string } };
    expect(j.complete).toBe(true);
    expect(j.end.reason).toBe("interrupted");
    expect(j.steps).toBeGreaterThan(0);
    const trace = Trace.open(out);
    try {
      // The kernel sees the command line `ttd record` gives it: its path, a space, no arguments.
      const fresh = Machine.fromElf(readImage(buildGuest("forever")), { cmdline: multibootCmdline(buildGuest("forever"), "") });
      fresh.run({ maxSteps: j.steps });
      expect(JSON.stringify(trace.stateAt(j.steps).machine.saveState())).toBe(JSON.stringify(fresh.saveState()));
    } finally {
      trace.close();
    }
  }, 120_000);
});

describe("bad trace files: one clear line naming the file, exit 2", () => {
  let good: string;
  let dir: string;
  beforeAll(() => {
    dir = tmpDir();
    good = path.join(dir, "good.trace");
    const r = ttd(["record", kernel("idle-bug.elf"), "-o", good]);
    expect(r.status).toBe(35);
  });

  function expectRefused(file: string, message: RegExp): void {
    for (const args of [["info", file], ["info", file, "--json"], ["log", file, "--count", "3"]]) {
      const r = ttd(args);
      expect(r.status, args.join(" ")).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe("");
    }
  }

  test("missing file", () => expectRefused(path.join(dir, "nope.trace"), /no such file/));

  test("not a trace: text, an ELF, another SQLite database, an empty file", () => {
    const text = path.join(dir, "notes.txt");
    fs.writeFileSync(text, "hello\n");
    expectRefused(text, /not a ttd trace/);
    expectRefused(kernel("idle-bug.elf"), /not a ttd trace/);
    const other = path.join(dir, "other.db");
    const db = new Database(other);
    db.exec("CREATE TABLE t(x)");
    db.close();
    expectRefused(other, /not a ttd trace \(an SQLite database of another kind\)/);
    const empty = path.join(dir, "empty.trace");
    fs.writeFileSync(empty, "");
    expectRefused(empty, /empty file/);
  });

  test("a newer format version", () => {
    const newer = path.join(dir, "newer.trace");
    fs.copyFileSync(good, newer);
    const db = new Database(newer);
    db.pragma("user_version = 99");
    db.close();
    expectRefused(newer, /format version 99 is newer than this ttd supports \(4\)/);
  });

  test("truncated", () => {
    const cut = path.join(dir, "cut.trace");
    const bytes = fs.readFileSync(good);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectRefused(cut, /truncated/);
  });

  test("corrupt pages inside the file", () => {
    const bad = path.join(dir, "bad.trace");
    const bytes = Buffer.from(fs.readFileSync(good));
    // Scribble over every page but the header page: B-tree pages no longer parse.
    for (let p = 4096; p < bytes.length; p += 4096) bytes.fill(0xa5, p + 8, p + 200);
    fs.writeFileSync(bad, bytes);
    expectRefused(bad, /corrupt|not a ttd trace/);
  });

  test("--from past the end", () => {
    const r = ttd(["log", good, "--from", "999999999"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/out of range/);
  });
});

describe("ttd log", () => {
  test("--json: one parseable object per step with the fields scripts compare", () => {
    const dir = tmpDir();
    const out = path.join(dir, "idle.trace");
    expect(ttd(["record", kernel("idle-bug.elf"), "-o", out]).status).toBe(35);
    const trace = Trace.open(out);
    const steps = trace.steps;
    const irq = trace.events().find((e) => e.kind === "interrupt")!;
    trace.close();
    const from = irq.step - 5;
    const r = ttd(["log", out, "--from", String(from), "--count", "200", "--json"]);
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(Math.min(200, steps - from));
    rows.forEach((row, i) => {
      expect(row.step).toBe(from + i);
      for (const k of ["eip", "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eflags"]) expect(row[k], k).toMatch(/^0x[0-9a-f]+$/);
      expect(["instruction", "interrupt", "exception", "fault"]).toContain(row.kind);
    });
    const irqRow = rows.find((row) => row.step === irq.step)!;
    expect(irqRow.kind).toBe("interrupt");
    expect(irqRow.vector).toBe(irq.vector);
    expect(Number(irqRow.eip)).toBe(irq.eip);
    // The step after an instruction shows that instruction's effect: EIP moved on by its length.
    const ins = rows.filter((row) => row.kind === "instruction" && typeof row.asm === "string" && /^(mov|add|sub|xor|push|pop|inc|dec)\b/.test(row.asm as string));
    expect(ins.length).toBeGreaterThan(5);
    for (const row of ins) {
      const next = rows.find((x) => x.step === (row.step as number) + 1);
      if (next === undefined || next.kind !== "instruction") continue;
      expect(Number(next.eip)).toBe(Number(row.eip) + (row.bytes as string).split(" ").length);
    }
  });

  test("text: one line per step, disassembly and registers", () => {
    const dir = tmpDir();
    const out = path.join(dir, "r1.trace");
    expect(ttd(["record", workload("workload-r1.elf"), "-o", out, "--max-steps", "100"]).status).toBe(4);
    const r = ttd(["log", out, "--count", "5"]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\s+0  instruction 0010000c  xor %eax, %eax\s+eax=2badb002 /);
    const all = ttd(["log", out, "--count", "1000"]);
    expect(all.stdout.trim().split("\n")).toHaveLength(100);
  });
});
