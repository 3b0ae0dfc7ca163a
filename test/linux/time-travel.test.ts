/**
 * A time-travel answer on a recorded Linux boot, end to end: Debian's i386 kernel (see debian.ts;
 * skipped without it, required in CI) is recorded once with `ttd record`, and every test here asks
 * that one trace, with symbols from nothing but the kernel's System.map:
 *
 * - the recording itself: progress lines on stderr name the kernel's latest log line; Ctrl-C (on a
 *   second, short recording) leaves a finalized trace that answers queries;
 * - `ttd info` calls the Linux boot's file an initrd;
 * - `ttd why-write jiffies` names the timer interrupt path that wrote it, call by call, from the
 *   trace alone (no frame pointers or DWARF needed);
 * - `ttd gdbserver` with Debian's gdb: break on start_kernel, continue, reverse-continue.
 *
 * The recording is as short as the questions allow: it stops a little past the first timer ticks
 * that write jiffies (RECORDED_STEPS). `nokaslr` keeps the kernel where System.map says it is.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { debian, requireRealSystemMap } from "./debian.js";
import { parseSystemMap } from "../../src/symbols/system-map.js";
import { CLI, requireBuiltCli, sleep, startGdbServer, tmpDir, ttd } from "../trace/helpers.js";

const CMDLINE = "console=ttyS0 panic=-1 nokaslr";
/**
 * Where the recording stops. The kernel decompresses itself for about 2.33 G steps (start_kernel is
 * entered at step 2,331,967,403), and the timer (the PIT on IRQ 0 through the I/O APIC, vector 0x30,
 * HZ=250: a tick every 4 M steps) first writes jiffies at step 2,394,384,444, while check_timer's
 * timer_irq_works waits for it, then every 4 M steps. 2.41 G covers four ticks, with room for a kernel
 * update that moves them a little.
 */
const RECORDED_STEPS = 2_410_000_000;
const hasGdb = spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;
const ready = debian !== null && requireRealSystemMap();

/** Runs ttd asynchronously, collecting its output (the recording takes minutes). */
function ttdAsync(args: string[], onStderr?: (text: string) => void): { done: Promise<{ status: number | null; stdout: string; stderr: string }>; pid: number; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("latin1")));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString("latin1");
    onStderr?.(stderr);
  });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
  return { done, pid: child.pid!, kill: (s) => child.kill(s) };
}

const seconds = (from: number) => (performance.now() - from) / 1000;

describe.skipIf(!ready)("a recorded Linux boot asked backwards (System.map symbols)", () => {
  const dir = tmpDir();
  const trace = path.join(dir, "linux.trace");
  let recording: { status: number | null; stdout: string; stderr: string };
  const symbol = new Map<string, number>();
  /** Steps at which do_timer wrote jiffies (from `ttd history`). */
  let ticks: number[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    for (const s of parseSystemMap(fs.readFileSync(debian!.systemMap, "latin1"))) if (!symbol.has(s.name)) symbol.set(s.name, s.address);
    const started = performance.now();
    const rec = ttdAsync(["record", debian!.vmlinuz, "--initrd", debian!.initrd, "--append", CMDLINE, "--memory", "256", "--max-steps", String(RECORDED_STEPS), "-o", trace]);
    recording = await rec.done;
    console.log(`ttd record: ${RECORDED_STEPS.toLocaleString("en-US")} steps in ${seconds(started).toFixed(1)} s; ${recording.stderr.trim().split("\n").slice(-2).join("; ")}`);
    expect(recording.status, recording.stderr.slice(-2000)).toBe(4);
    const h = ttd(["history", "jiffies", "--trace", trace, "--json"], { timeoutMs: 600_000 });
    expect(h.status, h.stderr).toBe(0);
    const writes = (JSON.parse(h.stdout) as { writes: { step: number; symbol: string | null }[] }).writes;
    ticks = writes.filter((w) => w.symbol?.startsWith("do_timer+") === true).map((w) => w.step);
  }, 3_600_000);

  test("record: the progress lines name the kernel's latest log line; the trace ends where it was asked to", () => {
    // Not a terminal: a line every 5 seconds, each with the guest's latest line once it printed one.
    const progress = recording.stderr.split("\n").filter((l) => l.startsWith("ttd: recording: "));
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.some((l) => /million steps\/s, trace [\d.]+ [KMG]iB \(.*\) \| guest: \[\s*\d+\.\d+\] \S/.test(l)), progress.slice(-3).join("\n")).toBe(true);
    expect(recording.stdout).toContain("Kernel command line: " + CMDLINE);
    expect(recording.stderr).toContain("stopped: max-steps");
    const info = JSON.parse(ttd(["info", trace, "--json"]).stdout) as { steps: number; complete: boolean; boot: string; initrd: { string: string } | null; modules: unknown[] };
    expect(info).toMatchObject({ steps: RECORDED_STEPS, complete: true, boot: "linux", initrd: { string: debian!.initrd }, modules: [] });
  });

  test("info: the Linux boot's file is its initrd", () => {
    const started = performance.now();
    const r = ttd(["info", trace]);
    console.log(`ttd info: ${seconds(started).toFixed(2)} s`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^image: +vmlinuz-\S+ \(Linux bzImage, sha256 [0-9a-f]{64}\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^initrd: +${debian!.initrd.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\([\\d,]+ bytes, sha256 [0-9a-f]{64}\\)$`, "m"));
    expect(r.stdout).not.toMatch(/^modules:/m);
  });

  test("why-write jiffies names the timer interrupt path that wrote it", () => {
    // The recording runs past the first ticks: each wrote jiffies in do_timer.
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    const at = ticks[ticks.length - 1] + 1;
    const started = performance.now();
    const r = ttd(["why-write", "jiffies", "--trace", trace, "--at", String(at), "--json"], { timeoutMs: 600_000 });
    console.log(`ttd why-write jiffies --json: ${seconds(started).toFixed(2)} s`);
    expect(r.status, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as {
      location: { address: string; size: number; name: string };
      writes: { step: number; kind: string; symbol: string }[];
      callPath: { end: string; frames: { kind: string; step: number; symbol: string | null; vector: number | null; external: boolean | null }[] };
    };
    // jiffies is a System.map label with no size: a word is watched, named as it was asked.
    expect(a.location).toMatchObject({ address: `0x${symbol.get("jiffies")!.toString(16)}`, size: 4, name: "jiffies" });
    expect(a.writes).toHaveLength(1);
    expect(a.writes[0]).toMatchObject({ step: at - 1, kind: "instruction" });
    expect(a.writes[0].symbol).toMatch(/^do_timer\+0x[0-9a-f]+$/);
    // The callers, innermost first, back to the interrupt that started it all: the PIT's IRQ 0 through
    // the I/O APIC (vector 0x30). Every call site is named from System.map.
    const frames = a.callPath.frames;
    expect(a.callPath.end).toBe("delivery");
    const names = frames.map((f) => (f.symbol ?? "?").replace(/\+0x[0-9a-f]+$/, ""));
    console.log(`call path: do_timer <- ${names.join(" <- ")}`);
    const calls = names.slice(0, -1);
    let from = 0;
    for (const fn of ["tick_periodic", "tick_handle_periodic", "timer_interrupt", "handle_irq_event", "handle_edge_irq", "common_interrupt", "asm_common_interrupt"]) {
      const i = calls.indexOf(fn, from);
      expect(i, `${fn} after ${calls.slice(0, from).join(" <- ")} in ${calls.join(" <- ")}`).toBeGreaterThanOrEqual(from);
      from = i + 1;
    }
    expect(frames.slice(0, -1).every((f) => f.kind === "call" && f.symbol !== null && /\+0x/.test(f.symbol))).toBe(true);
    expect(frames[frames.length - 1]).toMatchObject({ kind: "delivery", vector: 0x30, external: true });
    // Each call happened after its caller's, all within the handler: a few hundred steps.
    const steps = frames.map((f) => f.step);
    expect(steps).toEqual([...steps].sort((x, y) => y - x));
    expect(at - 1 - steps[steps.length - 1]).toBeLessThan(100_000);

    // The same in text, with the chain: the address is a constant (jiffies is a global).
    const t = ttd(["why-write", "jiffies", "--trace", trace, "--at", String(at), "--chain"], { timeoutMs: 600_000 });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^Last written at step [\d,]+ by `add[^`]*` in do_timer\+0x[0-9a-f]+:$/m);
    expect(t.stdout).toMatch(/^ {4}called from \(innermost first/m);
    expect(t.stdout).toMatch(/^ {6}step +[\d,]+ {2}tick_periodic\+0x[0-9a-f]+$/m);
    expect(t.stdout).toMatch(/^ {6}step +[\d,]+ {2}an external interrupt, vector 48 \(0x30\), interrupting \S+\+0x[0-9a-f]+$/m);
    expect(t.stdout).toMatch(/1\. step [\d,]+ +the address 0xc[0-9a-f]{7} is a constant in the instruction/);
  }, 1_200_000);

  test("Ctrl-C stops a Linux recording with a finalized trace that answers queries", async () => {
    const out = path.join(dir, "interrupted.trace");
    let sawProgress = false;
    const rec = ttdAsync(["record", debian!.vmlinuz, "--initrd", debian!.initrd, "--append", CMDLINE, "--memory", "256", "-o", out], (err) => {
      sawProgress ||= err.includes("ttd: recording: ");
    });
    // Wait for the first progress line (about 5 s in), then interrupt.
    const deadline = Date.now() + 300_000;
    while (!sawProgress && Date.now() < deadline) await sleep(100);
    expect(sawProgress).toBe(true);
    rec.kill("SIGINT");
    const r = await rec.done;
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr).toContain("stopped: interrupted (interrupted by Ctrl-C)");
    const info = ttd(["info", out, "--json", "--verify"], { timeoutMs: 600_000 });
    expect(info.status, info.stderr).toBe(0);
    const j = JSON.parse(info.stdout) as { complete: boolean; end: { reason: string }; steps: number };
    expect(j).toMatchObject({ complete: true, end: { reason: "interrupted" } });
    expect(j.steps).toBeGreaterThan(1_000_000);
    const log = ttd(["log", out, "--from", String(j.steps - 3), "--count", "3"]);
    expect(log.status, log.stderr).toBe(0);
    expect(log.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(3);
  }, 900_000);

  test.skipIf(!hasGdb)("gdb: break on start_kernel, continue, reverse-continue", async () => {
    expect(ticks.length).toBeGreaterThanOrEqual(1);
    // Clients start at the first tick's write; start_kernel was entered some 62 M steps before it.
    const { server, command } = await startGdbServer([trace, "--port", "0", "--at", String(ticks[0])]);
    try {
      // gdb gets the ELF made from the System.map: the kernel's symbols, no code (it reads that from the trace).
      expect(command).toMatch(/System\.map-[^/]*\.elf'?$/);
      const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
      const started = performance.now();
      const r = spawnSync("gdb", [
        "-batch", "-nx", ...args,
        "-ex", "break start_kernel", "-ex", "reverse-continue", "-ex", "info registers eip", "-ex", "monitor step",
        "-ex", "break do_timer", "-ex", "continue", "-ex", "info registers eip", "-ex", "monitor step",
        "-ex", "reverse-continue", "-ex", "info registers eip", "-ex", "monitor step",
      ], { encoding: "utf8", timeout: 600_000 });
      console.log(`gdb session: ${seconds(started).toFixed(1)} s`);
      const startKernel = symbol.get("start_kernel")!.toString(16);
      const doTimer = symbol.get("do_timer")!.toString(16);
      const eips = [...r.stdout.matchAll(/^eip\s+0x([0-9a-f]+)\s+0x[0-9a-f]+ <([^>]+)>/gm)].map((m) => [m[1], m[2]]);
      expect(eips, r.stdout + r.stderr).toEqual([[startKernel, "start_kernel"], [doTimer, "do_timer"], [startKernel, "start_kernel"]]);
      // gdb prints what `monitor` answers on stderr.
      const steps = [...r.stderr.matchAll(/^step (\d+) \(the trace covers/gm)].map((m) => Number(m[1]));
      expect(steps).toHaveLength(3);
      // start_kernel runs once, after the decompressor; the first do_timer call precedes its write.
      expect(steps[0]).toBeGreaterThan(2_000_000_000);
      expect(steps[0]).toBeLessThan(ticks[0]);
      expect(steps[1]).toBeGreaterThan(steps[0]);
      expect(steps[1]).toBeLessThan(ticks[0]);
      expect(steps[2]).toBe(steps[0]);
      expect(r.stdout).toMatch(/Breakpoint 1, 0x[0-9a-f]+ in start_kernel/);
      expect(r.stdout).toMatch(/Breakpoint 2, 0x[0-9a-f]+ in do_timer/);
    } finally {
      server.kill("SIGINT");
    }
  }, 900_000);
});
