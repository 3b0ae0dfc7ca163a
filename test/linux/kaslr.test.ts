/**
 * A Linux boot recorded WITHOUT `nokaslr`: Debian's 686 kernel is built with CONFIG_RANDOMIZE_BASE, so
 * its decompressor moves it to a random physical address (a multiple of CONFIG_PHYSICAL_ALIGN, 16 MiB,
 * at or above the 16 MiB it is linked for) and relocates it there; on i386 virtual addresses move by the
 * same amount (virtual = physical + PAGE_OFFSET). The seed mixes RDTSC, which under ttd counts virtual
 * nanoseconds, so the place is the same on every recording of one command line. Symbols from the
 * System.map, and from the vmlinux with DWARF when the cache has it, are slid by the distance the
 * kernel's banner moved, and the answers say so:
 *
 * - `ttd info` names the map and the slide: a whole, positive number of 16 MiB alignments;
 * - `ttd why-write jiffies` finds jiffies at its slid address and names do_timer and the timer interrupt
 *   path that wrote it, from the map; gdb, given the ELF made of the map, breaks on do_timer where it ran;
 * - with the vmlinux, print, history and why-write give DWARF types and source lines at the slid
 *   addresses, and `ttd gdbserver` has gdb load the vmlinux moved by the slide.
 *
 * Skipped without the kernel and its real System.map (required in CI, see debian.ts); the vmlinux part
 * without the vmlinux (required under TTD_REQUIRE_VMLINUX=1).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { debian, requireRealSystemMap, requireVmlinux } from "./debian.js";
import { parseSystemMap } from "../../src/symbols/system-map.js";
import { requireBuiltCli, startGdbServer, tmpDir, ttd } from "../trace/helpers.js";

/** No `nokaslr`: the decompressor picks where the kernel runs. */
const CMDLINE = "console=ttyS0 panic=-1";
/** As in time-travel.test.ts: a little past the first timer ticks that write jiffies (about 2.394 G). */
const RECORDED_STEPS = 2_410_000_000;
/** CONFIG_PHYSICAL_ALIGN of the 686 kernel: KASLR moves it by multiples of this. */
const KERNEL_ALIGN = 0x1000000;
const hasGdb = spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;
const ready = debian !== null && requireRealSystemMap();
const hasVmlinux = ready && requireVmlinux();

const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(2);

describe.skipIf(!ready)("a Linux boot recorded with KASLR: symbols slid to where the kernel ran", () => {
  const dir = tmpDir();
  const trace = path.join(dir, "kaslr.trace");
  const map = new Map<string, number>();
  let slide = 0;

  beforeAll(() => {
    requireBuiltCli();
    process.env.TTD_CACHE_DIR = path.join(dir, "cache");
    for (const s of parseSystemMap(fs.readFileSync(debian!.systemMap, "latin1"))) if (!map.has(s.name)) map.set(s.name, s.address);
    const started = performance.now();
    const rec = ttd(["record", debian!.vmlinuz, "--initrd", debian!.initrd, "--append", CMDLINE, "--memory", "256", "--max-steps", String(RECORDED_STEPS), "-o", trace], { timeoutMs: 3_600_000 });
    console.log(`ttd record (KASLR): ${RECORDED_STEPS.toLocaleString("en-US")} steps in ${seconds(started)} s`);
    expect(rec.status, rec.stderr.slice(-2000)).toBe(4);
    expect(rec.stdout).toContain("Kernel command line: " + CMDLINE);
  }, 3_600_000);

  test("info: the System.map found next to the kernel, and the kernel moved by whole alignments", () => {
    const j = JSON.parse(ttd(["info", trace, "--json"], { timeoutMs: 600_000 }).stdout) as { symbols: { from: string; note: string | null } | null };
    expect(j.symbols?.from).toBe(debian!.systemMap);
    const m = /^the kernel was moved by KASLR by \+0x([0-9a-f]+); symbols slid$/.exec(j.symbols?.note ?? "");
    expect(m, j.symbols?.note ?? "no note").not.toBeNull();
    slide = parseInt(m![1], 16);
    console.log(`KASLR placed the kernel at physical 0x${(0x1000000 + slide).toString(16)} (slide +0x${slide.toString(16)})`);
    expect(slide % KERNEL_ALIGN).toBe(0);
    expect(slide).toBeGreaterThan(0);
    const t = ttd(["info", trace], { timeoutMs: 600_000 });
    expect(t.stdout).toMatch(/^symbols: +\S+System\.map-\S+ \(the kernel was moved by KASLR by \+0x[0-9a-f]+; symbols slid\)$/m);
  }, 600_000);

  test("why-write jiffies: at its slid address, written by do_timer from the timer interrupt", () => {
    expect(slide).toBeGreaterThan(0);
    const h = ttd(["history", "jiffies", "--trace", trace, "--json"], { timeoutMs: 600_000 });
    expect(h.status, h.stderr).toBe(0);
    const hist = JSON.parse(h.stdout) as { location: { address: string }; writes: { step: number; eip: string; symbol: string | null }[]; symbolsNote: string | null };
    expect(hist.location.address).toBe(`0x${(map.get("jiffies")! + slide).toString(16)}`);
    expect(hist.symbolsNote).toBe(`the kernel was moved by KASLR by +0x${slide.toString(16)}; symbols slid`);
    const ticks = hist.writes.filter((w) => w.symbol?.startsWith("do_timer+") === true);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    // The instruction ran at do_timer's slid address, and is named from the unslid map's do_timer.
    const eip = Number(ticks[0].eip);
    expect(eip - (map.get("do_timer")! + slide)).toBe(parseInt(ticks[0].symbol!.split("+0x")[1], 16));
    const at = ticks[ticks.length - 1].step + 1;
    const r = ttd(["why-write", "jiffies", "--trace", trace, "--at", String(at), "--json"], { timeoutMs: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as { writes: { step: number; symbol: string }[]; callPath: { end: string; frames: { kind: string; symbol: string | null; vector: number | null }[] } };
    expect(a.writes[0]).toMatchObject({ step: at - 1 });
    expect(a.writes[0].symbol).toMatch(/^do_timer\+0x[0-9a-f]+$/);
    const names = a.callPath.frames.map((f) => (f.symbol ?? "?").replace(/\+0x[0-9a-f]+$/, ""));
    let from = 0;
    for (const fn of ["tick_periodic", "tick_handle_periodic", "timer_interrupt", "handle_edge_irq", "common_interrupt"]) {
      const i = names.indexOf(fn, from);
      expect(i, `${fn} in ${names.join(" <- ")}`).toBeGreaterThanOrEqual(from);
      from = i + 1;
    }
    expect(a.callPath.frames[a.callPath.frames.length - 1]).toMatchObject({ kind: "delivery", vector: 0x30 });
    const t = ttd(["why-write", "jiffies", "--trace", trace, "--at", String(at)], { timeoutMs: 600_000 });
    expect(t.stdout).toMatch(/^ {2}note: the kernel was moved by KASLR by \+0x[0-9a-f]+; symbols slid$/m);
  }, 900_000);

  test.skipIf(!hasGdb)("gdbserver: gdb gets the ELF made of the slid map", async () => {
    expect(slide).toBeGreaterThan(0);
    const { server, command } = await startGdbServer([trace, "--port", "0", "--at", "end"]);
    try {
      expect(command).toMatch(/System\.map-[^/]*\.elf'?$/);
      const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
      const r = spawnSync("gdb", ["-batch", "-nx", ...args, "-ex", "info address do_timer", "-ex", "break do_timer", "-ex", "reverse-continue", "-ex", "info registers eip"], { encoding: "utf8", timeout: 600_000 });
      const doTimer = (map.get("do_timer")! + slide).toString(16);
      expect(r.stdout, r.stderr).toMatch(new RegExp(`Symbol "do_timer" is at 0x${doTimer} in a file compiled without debugging`));
      expect(r.stdout).toMatch(new RegExp(`^eip\\s+0x${doTimer}\\s+0x${doTimer} <do_timer>`, "m"));
    } finally {
      server.kill("SIGINT");
    }
  }, 900_000);

  describe.skipIf(!hasVmlinux)("with the vmlinux's DWARF", () => {
    const vmlinux = () => debian!.vmlinux;

    test("print and history: DWARF types and source lines at the slid addresses", () => {
      expect(slide).toBeGreaterThan(0);
      const p = ttd(["print", "jiffies", "--trace", trace, "--symbols", vmlinux(), "--json"], { timeoutMs: 900_000 });
      expect(p.status, p.stderr).toBe(0);
      expect(JSON.parse(p.stdout)).toMatchObject({
        type: "volatile long unsigned int", address: `0x${(map.get("jiffies")! + slide).toString(16)}`, size: 4,
        symbolsNote: `the kernel was moved by KASLR by +0x${slide.toString(16)}; symbols slid`,
      });
      const c = ttd(["print", "init_task.comm", "--trace", trace, "--symbols", vmlinux(), "--json"], { timeoutMs: 600_000 });
      expect(JSON.parse(c.stdout)).toMatchObject({ type: "char[16]", value: '"swapper/0"' });
      const h = ttd(["history", "jiffies", "--trace", trace, "--symbols", vmlinux(), "--json"], { timeoutMs: 600_000 });
      expect(h.status, h.stderr).toBe(0);
      const ticks = (JSON.parse(h.stdout) as { writes: { eip: string; symbol: string | null; file: string | null; line: number | null }[] }).writes.filter((w) => w.symbol?.startsWith("do_timer+") === true);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      for (const w of ticks) expect(w.file).toMatch(/kernel\/time\/timekeeping\.c$/);
      if (hasGdb) {
        // The line gdb gives for the same instruction in the vmlinux as linked.
        const linked = `0x${(Number(ticks[0].eip) - slide).toString(16)}`;
        const g = spawnSync("gdb", ["-batch", "-nx", "-ex", `info line *${linked}`, vmlinux()], { encoding: "utf8", timeout: 600_000 });
        expect(ticks[0].line).toBe(Number(/^Line (\d+) of/m.exec(g.stdout)?.[1]));
      }
      const t = ttd(["history", "jiffies", "--trace", trace, "--symbols", vmlinux()], { timeoutMs: 600_000 });
      expect(t.stdout).toMatch(/^ {2}note: the kernel was moved by KASLR by \+0x[0-9a-f]+; symbols slid$/m);
    }, 1_800_000);

    test.skipIf(!hasGdb)("gdbserver: gdb loads the vmlinux where it is, moved by the slide, and stops at do_timer's line", async () => {
      expect(slide).toBeGreaterThan(0);
      const { server, command } = await startGdbServer([trace, "--symbols", vmlinux(), "--port", "0", "--at", "end"]);
      try {
        expect(command).toContain(`symbol-file -o 0x${slide.toString(16)} ${vmlinux()}`);
        const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
        const r = spawnSync("gdb", ["-batch", "-nx", ...args, "-ex", "break do_timer", "-ex", "reverse-continue", "-ex", "info registers eip", "-ex", "print init_task.comm"], { encoding: "utf8", timeout: 600_000 });
        expect(r.stdout, r.stderr).toMatch(/Breakpoint 1, do_timer \(ticks=[^)]*\) at kernel\/time\/timekeeping\.c:\d+/);
        // Stopped in do_timer as it ran: at its slid address (or past its prologue).
        const eip = /^eip\s+0x([0-9a-f]+)\s+0x[0-9a-f]+ <do_timer(?:\+(\d+))?>/m.exec(r.stdout);
        expect(eip, r.stdout).not.toBeNull();
        expect(parseInt(eip![1], 16)).toBe(map.get("do_timer")! + slide + Number(eip![2] ?? 0));
        expect(r.stdout).toMatch(/= "swapper\/0(\\000)*"/);
      } finally {
        server.kill("SIGINT");
      }
    }, 900_000);
  });
});
