/**
 * End to end with the Debian gdb: record the demo bug kernel, serve the trace, and debug it the way
 * the issue describes: watch the idle TCB's registers[Error], reverse-continue from the end until
 * gdb stops in idle_thread, then reverse-stepi until ESP changes and find the `push %ebp`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { Trace } from "../../src/trace/trace.js";
import { GdbServer } from "../../src/gdb/server.js";
import { imageFileFor } from "../../src/gdb/open.js";
import { demoSymbols, recordDemo, REPO, tmpDir } from "./helpers.js";

const hasGdb = spawnSync("gdb", ["--version"], { stdio: "ignore" }).status === 0;
const title = hasGdb ? "with gdb" : "with gdb (SKIPPED: gdb not installed; apt-get install gdb)";

/** Runs gdb in batch mode on a command file; resolves with everything it printed. */
function runGdb(elf: string, commands: string[]): Promise<string> {
  const dir = tmpDir();
  const script = path.join(dir, "commands.gdb");
  fs.writeFileSync(script, commands.join("\n") + "\n");
  // One file for stdout and stderr keeps gdb's messages in the order it printed them.
  const outPath = path.join(dir, "out.txt");
  const fd = fs.openSync(outPath, "w");
  return new Promise((resolve, reject) => {
    // Run from the repository root, where the DWARF's relative source paths resolve.
    const child = spawn("gdb", ["-batch", "-nx", "-x", script, elf], { cwd: REPO, stdio: ["ignore", fd, fd] });
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fs.closeSync(fd);
      const out = fs.readFileSync(outPath, "utf8");
      fs.rmSync(dir, { recursive: true, force: true });
      if (err) reject(new Error(`${err.message}; gdb printed:\n${out}`));
      else resolve(out);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(new Error("gdb timed out"));
    }, 90_000);
    child.on("error", (e) => finish(e));
    child.on("close", () => finish());
  });
}

/** The output between `echo @@name` markers. */
function sections(out: string): Map<string, string> {
  const map = new Map<string, string>();
  const parts = out.split(/^@@(\w+)$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) map.set(parts[i], parts[i + 1]);
  return map;
}

describe.skipIf(!hasGdb)(title, () => {
  let dir: string;
  let trace: Trace;
  let server: GdbServer;
  let elf: string;
  const log: string[] = [];
  const sym = demoSymbols();

  beforeAll(async () => {
    dir = tmpDir();
    trace = Trace.open(await recordDemo(dir));
    server = await GdbServer.listen(trace, { log: (l) => log.push(l) });
    // The image gdb loads is the one stored in the trace, as `ttd gdbserver` prints it.
    elf = imageFileFor(trace.image(), dir).path;
  });

  afterAll(async () => {
    await server?.close();
    trace?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const prologue = () => ["set pagination off", "set confirm off", "set width 0", "set architecture i386", `target remote 127.0.0.1:${server.port}`];
  const mark = (name: string) => `echo @@${name}\\n`;

  it("watch registers[Error], reverse-continue into idle_thread, reverse-stepi to the push %ebp", async () => {
    const out = await runGdb(elf, [
      ...prologue(),
      mark("start"),
      "reverse-stepi",
      "printf \"pc=%#x\\n\", $pc",
      mark("forward"),
      "continue",
      mark("end"),
      "stepi",
      "monitor step",
      mark("watch"),
      "watch *(unsigned int *)((char *)&ksIdleThreadTCB + 0x624)",
      "reverse-continue",
      "printf \"pc=%#x\\n\", $pc",
      mark("watch2"),
      "reverse-continue",
      "printf \"pc=%#x\\n\", $pc",
      mark("push"),
      "set $e = $esp",
      "reverse-stepi",
      "while $esp == $e",
      "  reverse-stepi",
      "end",
      "printf \"pc=%#x esp=%#x before=%#x\\n\", $pc, $esp, $e",
      "x/i $pc",
      mark("registers"),
      "printf \"fctrl=%#x ftag=%#x mxcsr=%#x cr3=%#x\\n\", $fctrl, $ftag, $mxcsr, $cr3",
      "info registers mxcsr",
      "p $xmm0.uint128",
      mark("done"),
    ]);
    const s = sections(out);
    const NO_MORE = "No more reverse-execution history.";

    // The x87, SSE and control registers: gdb accepts the description and reads their values.
    const regs = s.get("registers")!;
    expect(regs).toContain(`fctrl=0x37f ftag=0xffff mxcsr=0x1f80 cr3=0x${trace.stateAt(trace.steps).regs.cr3.toString(16)}`);
    expect(regs).toMatch(/mxcsr\s+0x1f80\s+\[ IM DM ZM OM UM PM \]/);
    expect(regs).toMatch(/= 0\b/);

    // Reverse past the start: gdb's end-of-history stop, still at the first instruction.
    expect(s.get("start")).toContain(NO_MORE);
    expect(s.get("start")).toContain(`pc=${"0x" + trace.stateAt(0).regs.eip.toString(16)}`);
    // Forward to the end of the recording, and a stepi past it.
    expect(s.get("forward")).toContain(NO_MORE);
    expect(s.get("end")).toContain(NO_MORE);
    expect(s.get("end")).toContain(`step ${trace.steps} `);

    // First stop back: the #GP frame the failed iret pushed over registers[Error].
    const w1 = s.get("watch")!;
    expect(w1).toMatch(/Hardware watchpoint 1: \*\(unsigned int \*\)\(\(char \*\)&ksIdleThreadTCB \+ 0x624\)/);
    expect(w1).toContain("restore_user_context");
    // Second: the timer interrupt taken in idle_thread, pushing the idle EIP into the Error slot.
    const w2 = s.get("watch2")!;
    expect(w2).toMatch(/Old value = \d+\s+New value = 0/);
    expect(w2).toContain("idle_thread ()");
    const pc2 = Number(/pc=(0x[0-9a-f]+)/.exec(w2)![1]);
    expect(pc2).toBeGreaterThan(sym.idleThread);
    expect(pc2).toBeLessThan(sym.idleThread + 0x20);

    // Back until ESP changes: the prologue's push, the instruction that shifted the frame.
    const p = s.get("push")!;
    const m = /pc=(0x[0-9a-f]+) esp=(0x[0-9a-f]+) before=(0x[0-9a-f]+)/.exec(p)!;
    expect(Number(m[1])).toBe(sym.idleThread);
    expect(Number(m[3]) - Number(m[2])).toBe(-4); // one word more before the push
    expect(p).toMatch(/<idle_thread>:\s+push\s+%ebp/);
    expect(log.some((l) => l.includes("error"))).toBe(false);
  });

  it("breakpoints, reverse-finish, read watchpoints and hardware breakpoints", async () => {
    const out = await runGdb(elf, [
      ...prologue(),
      "break kprintf",
      "continue",
      mark("finish"),
      "reverse-finish",
      "x/i $pc",
      mark("rwatch"),
      "delete",
      "continue",
      "rwatch ksCurThread",
      "reverse-continue",
      "x/i $pc",
      mark("hbreak"),
      "delete",
      "hbreak *idle_thread",
      "reverse-continue",
      "printf \"pc=%#x\\n\", $pc",
      "reverse-continue",
      mark("done"),
    ]);
    const s = sections(out);
    // reverse-finish from kprintf's first line lands on the call in its caller (the first kprintf
    // call is init_kernel's banner).
    const fin = s.get("finish")!;
    expect(fin).toContain("in init_kernel () at src/kernel/init.c");
    expect(fin).toMatch(/=> 0x[0-9a-f]+ <init_kernel\+\d+>:\s+call\s+0x[0-9a-f]+ <kprintf>/);
    // From the end, a read watchpoint going back stops on the instruction reading the variable.
    const rw = s.get("rwatch")!;
    expect(rw).toContain("Hardware read watchpoint");
    expect(rw).toContain(`0x${sym.ksCurThread.toString(16)}`);
    // hbreak backward from there: the one entry of idle_thread, then nothing earlier.
    const hb = s.get("hbreak")!;
    expect(hb).toContain(`pc=0x${sym.idleThread.toString(16)}`);
    expect(hb).toContain("No more reverse-execution history.");
  });
});
