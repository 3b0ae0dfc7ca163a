/**
 * A recorded Linux boot asked with symbols from its vmlinux: Debian's -dbg package's ELF with the
 * kernel's DWARF (150 MB of .debug_info; see debian.ts: skipped without it, required under
 * TTD_REQUIRE_VMLINUX=1). The recording runs the bzImage; `--symbols vmlinux-<release>` names what it
 * did, with DWARF types and source lines:
 *
 * - print a global whose type only DWARF knows (`jiffies`, a linker-script alias that DWARF declares)
 *   and a struct member (`init_task.comm`); the first command builds the index of the DWARF, the
 *   second reads it back from the cache instead of building it again;
 * - history and why-write: writes named by function and file:line, the line as gdb places the address;
 * - `ttd gdbserver` hands gdb the vmlinux: a breakpoint on do_timer stops at its source line;
 * - a vmlinux of another build (its banner changed) is refused in one line, exit 2.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { debian, requireVmlinux } from "./debian.js";
import { Elf32, PT_LOAD } from "../../src/elf/elf32.js";
import { dwarfIndexPath } from "../../src/bundle/dwarf-index-cache.js";
import { sha256Hex } from "../../src/bundle/format.js";
import { requireBuiltCli, startGdbServer, tmpDir, ttd } from "../trace/helpers.js";

const CMDLINE = "console=ttyS0 panic=-1 nokaslr";
/** As in time-travel.test.ts: a little past the first timer ticks that write jiffies (about 2.394 G). */
const RECORDED_STEPS = 2_410_000_000;
const hasGdb = spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;
const ready = requireVmlinux();

const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(2);

describe.skipIf(!ready)("a recorded Linux boot with symbols from its vmlinux (DWARF)", () => {
  const dir = tmpDir();
  const trace = path.join(dir, "linux.trace");
  const vmlinux = debian!.vmlinux;
  let elf: Elf32;
  const symbol = new Map<string, number>();
  let sha256 = "";

  beforeAll(() => {
    requireBuiltCli();
    // The index is built into a cache folder of this test's own.
    process.env.TTD_CACHE_DIR = path.join(dir, "cache");
    const bytes = fs.readFileSync(vmlinux);
    elf = new Elf32(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    sha256 = sha256Hex(elf.bytes);
    for (const s of elf.symbols()) if (!symbol.has(s.name) && s.shndx !== 0) symbol.set(s.name, s.value);
    const started = performance.now();
    const rec = ttd(["record", debian!.vmlinuz, "--initrd", debian!.initrd, "--append", CMDLINE, "--memory", "256", "--max-steps", String(RECORDED_STEPS), "-o", trace], { timeoutMs: 3_600_000 });
    console.log(`ttd record: ${RECORDED_STEPS.toLocaleString("en-US")} steps in ${seconds(started)} s`);
    expect(rec.status, rec.stderr.slice(-2000)).toBe(4);
  }, 3_600_000);

  test("print jiffies: its type from DWARF; the index is built by the first command and read by the second", () => {
    const index = dwarfIndexPath(sha256);
    expect(fs.existsSync(index)).toBe(false);
    const args = ["print", "jiffies", "--trace", trace, "--symbols", vmlinux, "--json"];
    let started = performance.now();
    const first = ttd(args, { timeoutMs: 600_000 });
    console.log(`ttd print jiffies --symbols vmlinux, building the index: ${seconds(started)} s`);
    expect(first.status, first.stderr).toBe(0);
    const built = fs.statSync(index).mtimeMs;
    started = performance.now();
    const second = ttd(args, { timeoutMs: 600_000 });
    console.log(`ttd print jiffies --symbols vmlinux, the index cached: ${seconds(started)} s`);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(fs.statSync(index).mtimeMs).toBe(built);
    // jiffies is `jiffies_64` under another name (the linker script's alias): DWARF only declares it,
    // with its C type; the address is the ELF symbol's.
    const j = JSON.parse(first.stdout) as { type: string; address: string; size: number; value: string };
    expect(j).toMatchObject({ type: "volatile long unsigned int", address: `0x${symbol.get("jiffies")!.toString(16)}`, size: 4 });
    // INITIAL_JIFFIES is -300 s at HZ=250 (0xfffedb08), then a few ticks.
    expect(Number(j.value)).toBeGreaterThan(0xfffedb08);
    expect(Number(j.value)).toBeLessThan(0xfffedb08 + 16);
  }, 1_200_000);

  test("print init_task.comm: a struct member by the DWARF type", () => {
    const r = ttd(["print", "init_task.comm", "--trace", trace, "--symbols", vmlinux, "--json"], { timeoutMs: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { type: string; address: string; size: number; value: string };
    // The member's offset inside task_struct comes from DWARF: it is not at the start of init_task.
    expect(j.type).toBe("char[16]");
    expect(Number(j.address)).toBeGreaterThan(symbol.get("init_task")!);
    expect(j.value).toBe('"swapper/0"');
  }, 600_000);

  test("history jiffies: the writes named by function and source line, the line gdb gives for the address", () => {
    const r = ttd(["history", "jiffies", "--trace", trace, "--symbols", vmlinux, "--json"], { timeoutMs: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const writes = (JSON.parse(r.stdout) as { writes: { step: number; eip: string; symbol: string | null; file: string | null; line: number | null }[] }).writes;
    const ticks = writes.filter((w) => w.symbol?.startsWith("do_timer+") === true);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const w of ticks) expect(w.file).toMatch(/kernel\/time\/timekeeping\.c$/);
    if (hasGdb) {
      const g = spawnSync("gdb", ["-batch", "-nx", "-ex", `info line *${ticks[0].eip}`, vmlinux], { encoding: "utf8", timeout: 600_000 });
      const line = /^Line (\d+) of "([^"]+)"/m.exec(g.stdout);
      expect(line, g.stdout + g.stderr).not.toBeNull();
      expect(ticks[0].line).toBe(Number(line![1]));
      expect(ticks[0].file!.endsWith(line![2])).toBe(true);
    }
  }, 900_000);

  test("why-write jiffies: the timer interrupt path by DWARF function names", () => {
    const h = JSON.parse(ttd(["history", "jiffies", "--trace", trace, "--symbols", vmlinux, "--json"], { timeoutMs: 600_000 }).stdout) as { writes: { step: number; symbol: string | null }[] };
    const last = h.writes.filter((w) => w.symbol?.startsWith("do_timer+") === true).pop()!;
    const r = ttd(["why-write", "jiffies", "--trace", trace, "--symbols", vmlinux, "--at", String(last.step + 1), "--json"], { timeoutMs: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as { location: { size: number; name: string }; writes: { step: number; symbol: string }[]; callPath: { frames: { symbol: string | null }[] } };
    // The size is the DWARF type's (no guess from the gap to the next symbol).
    expect(a.location).toMatchObject({ size: 4, name: "jiffies" });
    expect(a.writes[0]).toMatchObject({ step: last.step });
    const names = a.callPath.frames.map((f) => (f.symbol ?? "?").replace(/\+0x[0-9a-f]+$/, ""));
    expect(names).toContain("tick_periodic");
    expect(names).toContain("tick_handle_periodic");
  }, 900_000);

  test.skipIf(!hasGdb)("gdbserver: gdb gets the vmlinux and stops at do_timer's source line", async () => {
    const h = JSON.parse(ttd(["history", "jiffies", "--trace", trace, "--symbols", vmlinux, "--json"], { timeoutMs: 600_000 }).stdout) as { writes: { step: number; symbol: string | null }[] };
    const last = h.writes.filter((w) => w.symbol?.startsWith("do_timer+") === true).pop()!;
    const { server, command } = await startGdbServer([trace, "--symbols", vmlinux, "--port", "0", "--at", String(last.step + 1)]);
    try {
      expect(command).toMatch(/vmlinux-[^/]*'?$/);
      const args = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
      const r = spawnSync("gdb", ["-batch", "-nx", ...args, "-ex", "break do_timer", "-ex", "reverse-continue", "-ex", "print init_task.comm"], { encoding: "utf8", timeout: 600_000 });
      expect(r.stdout, r.stderr).toMatch(/Breakpoint 1, do_timer \(ticks=[^)]*\) at kernel\/time\/timekeeping\.c:\d+/);
      expect(r.stdout).toMatch(/= "swapper\/0(\\000)*"/);
    } finally {
      server.kill("SIGINT");
    }
  }, 900_000);

  test("a vmlinux of another build of the same release is refused: one line, exit 2", () => {
    // The same file with the build number in its linux_banner changed (#1 -> #9), as another build's.
    const banner = symbol.get("linux_banner")!;
    const seg = elf.programHeaders.find((p) => p.type === PT_LOAD && banner >= p.vaddr && banner < p.vaddr + p.filesz)!;
    const at = seg.offset + (banner - seg.vaddr);
    const copy = Buffer.from(elf.bytes);
    const text = copy.subarray(at, at + 512).toString("latin1");
    const hash = text.indexOf(" #1 ");
    expect(hash).toBeGreaterThan(0);
    copy[at + hash + 2] = "9".charCodeAt(0);
    const other = path.join(dir, path.basename(vmlinux));
    fs.writeFileSync(other, copy);
    const r = ttd(["print", "jiffies", "--trace", trace, "--symbols", other]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^ttd: ${other.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: does not match the recorded kernel vmlinuz-\\S+: its linux_banner reads "Linux version .* #9 .*", the kernel is ".* #1 .*"$`, "m"));
  }, 600_000);
});
