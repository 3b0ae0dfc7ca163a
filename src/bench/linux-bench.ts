/**
 * `npm run bench -- --only linux`: Debian's i386 kernel booting to its /init and powering off, under
 * QEMU TCG and under ttd in the same invocation, alternated: `ttd run` and `ttd record` against QEMU's
 * wall time, trace bytes per step, peak RSS, and query latency on the recorded boot (why-write of
 * jiffies through System.map, state at a random step). Needs the packages of
 * scripts/fetch-debian-linux.sh; without them the section says so and measures nothing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { locateDebianLinux } from "../guests/debian-linux.js";
import { findQemu } from "./qemu-log.js";
import { QEMU_CPU_LIKE_TTD, QEMU_MACHINE_LIKE_TTD } from "./qemu-cpu.js";
import { fmtCount, fmtRatio, timeProcess, type BenchContext, type BenchSection, type BenchTable } from "./harness.js";
import { runSampled } from "./sampled-process.js";
import { Trace } from "../trace/trace.js";

const MEMORY_MIB = 256;
/**
 * The same command line for both machines. `nokaslr`: both run the kernel where it was linked (with
 * KASLR each picks its own place from its own clock), and the recording's queries read System.map's
 * addresses as they are.
 */
const APPEND = "console=ttyS0 panic=-1 nokaslr";
/** What /init prints (src/tools/build-initramfs.ts): the boot reached user space. */
const MARKER = "hello from /init";

const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);

async function runLinuxBench(ctx: BenchContext): Promise<BenchTable[]> {
  const { found: d, reason } = locateDebianLinux();
  const title = "Debian's i386 Linux: boot to /init and power off";
  if (d === null) return [{ title, columns: ["measure", "value"], rows: [], notes: [`skipped: ${reason}`] }];
  const qemu = findQemu();
  const cli = path.join(ctx.repoRoot, "dist/cli/main.js");
  const kernelArgs = [d.vmlinuz, "--initrd", d.initrd, "--append", APPEND, "-m", String(MEMORY_MIB)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-linux-bench-"));
  const tracePath = path.join(dir, "linux.trace");
  try {
    let qemuS = Infinity, runS = Infinity, recS = Infinity, runRss = 0, recRss = 0, steps = 0;
    for (let i = 0; i < ctx.runs; i++) {
      if (qemu !== null) {
        ctx.log(`linux: qemu TCG (${i + 1}/${ctx.runs})`);
        const q = await timeProcess(qemu, ["-cpu", QEMU_CPU_LIKE_TTD, ...QEMU_MACHINE_LIKE_TTD, "-m", String(MEMORY_MIB), "-kernel", d.vmlinuz, "-initrd", d.initrd, "-append", APPEND, "-display", "none", "-monitor", "none", "-no-reboot", "-accel", "tcg"], { timeoutMs: ctx.timeoutMs });
        if (q.timedOut || !q.stdout.includes(MARKER)) throw new Error(`qemu did not reach /init: ${q.stderr.trim().split("\n")[0] ?? ""}`);
        qemuS = Math.min(qemuS, q.seconds);
      }
      ctx.log(`linux: ttd run (${i + 1}/${ctx.runs})`);
      const run = await runSampled([cli, "run", ...kernelArgs, "--json"], ctx.timeoutMs);
      if (run.timedOut || !run.stdout.includes(MARKER)) throw new Error(`ttd run did not reach /init: ${run.stderr.trim().split("\n").pop() ?? ""}`);
      steps = JSON.parse(run.stderr.trim().split("\n").pop()!).steps;
      runS = Math.min(runS, run.seconds);
      runRss = Math.max(runRss, run.peakRss);
      ctx.log(`linux: ttd record (${i + 1}/${ctx.runs})`);
      const rec = await runSampled([cli, "record", ...kernelArgs, "-o", tracePath, "--force", "--json"], ctx.timeoutMs);
      if (rec.timedOut || !rec.stdout.includes(MARKER)) throw new Error(`ttd record did not reach /init: ${rec.stderr.trim().split("\n").pop() ?? ""}`);
      recS = Math.min(recS, rec.seconds);
      recRss = Math.max(recRss, rec.peakRss);
    }
    const bytes = fs.statSync(tracePath).size;
    const boot: BenchTable = {
      title: `${title} (${d.release}, ${fmtCount(steps)} steps), whole processes, best of ${ctx.runs}`,
      columns: ["measure", "value", "target", "status"],
      rows: [
        ["qemu TCG (s)", qemu === null ? "n/a" : qemuS.toFixed(2), "", ""],
        ["ttd run (s)", runS.toFixed(2), "", ""],
        ["ttd record (s)", recS.toFixed(2), "", ""],
        ["ttd run / qemu wall time", qemu === null ? "n/a" : fmtRatio(runS / qemuS), "<= 2x", qemu === null ? "" : runS / qemuS <= 2 ? "ok" : "MISSED"],
        ["ttd record / qemu wall time", qemu === null ? "n/a" : fmtRatio(recS / qemuS), "<= 4x", qemu === null ? "" : recS / qemuS <= 4 ? "ok" : "MISSED"],
        ["run speed (M steps/s)", (steps / runS / 1e6).toFixed(1), "", ""],
        ["record speed (M steps/s)", (steps / recS / 1e6).toFixed(1), "", ""],
        ["trace size (MiB)", mb(bytes), "", ""],
        ["bytes per step", (bytes / steps).toFixed(4), "", ""],
        ["peak RSS ttd run (MiB)", mb(runRss), "", ""],
        ["peak RSS ttd record (MiB)", mb(recRss), "", ""],
      ],
      notes: [`qemu: -cpu ${QEMU_CPU_LIKE_TTD.split(",")[0]} made like ttd's CPUID, its machine reduced to ttd's devices (${QEMU_MACHINE_LIKE_TTD.join(" ")}); both boot with -m ${MEMORY_MIB} and '${APPEND}'.`],
    };
    // ---- queries on the recorded boot ---------------------------------------------------------------
    const trace = Trace.open(tracePath);
    let queries: BenchTable;
    try {
      const s = trace.steps;
      const at = [Math.floor(s / 3), Math.floor(s / 2), s - 1];
      const stateMs: number[] = [];
      for (const step of at) {
        const t0 = performance.now();
        trace.stateAt(step);
        stateMs.push(performance.now() - t0);
      }
      const rows: string[][] = at.map((step, i) => [`state at step ${fmtCount(step)} (ms)`, stateMs[i].toFixed(1)]);
      const whyArgs = ["why-write", "jiffies", "--trace", tracePath, "--at", "end", "--symbols", d.systemMap];
      const why = await timeProcess(process.execPath, [cli, ...whyArgs], { timeoutMs: ctx.timeoutMs });
      rows.push(["ttd why-write jiffies --at end, whole process (s)", why.exitCode === 0 ? why.seconds.toFixed(2) : `failed: ${why.stderr.trim().split("\n")[0]}`]);
      queries = { title: `Queries on the recorded boot (${fmtCount(s)} steps)`, columns: ["query", "value"], rows, notes: [] };
    } finally {
      trace.close();
    }
    return [boot, queries];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const linuxSection: BenchSection = {
  name: "linux",
  description: "Debian's i386 kernel to /init: ttd run and record against QEMU TCG, trace size, RSS, queries on the boot",
  onlyWhenNamed: true,
  run: runLinuxBench,
};
