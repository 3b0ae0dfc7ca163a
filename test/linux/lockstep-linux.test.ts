/**
 * Debian's kernel under ttd and under QEMU 7.2 in lockstep from its 32-bit entry (code32_start) over
 * the first 100 million instructions, all of them in the XZ decompressor: EIP and the eight general
 * registers, QEMU in icount mode with its CPU made like ttd's (src/bench/linux-lockstep-core.ts).
 *
 * ttd starts from QEMU's state at the entry where the two machines differ for reasons that are not
 * the CPU's: the RAM below 1 MiB (SeaBIOS's tables, data and BIOS area, which the decompressor scans
 * for the ACPI RSDP, and the boot_params QEMU's real-mode setup filled in from BIOS calls) is read
 * from QEMU through its gdbstub, and the loader's registers (EAX, ESP, ESI, the status flags) are
 * adopted. After the first instruction nothing is adopted.
 *
 * Every instruction's address is compared: a QEMU plugin of ttd's (src/bench/qemu-insn-trace.c)
 * writes them, four bytes each. QEMU's register dump costs about 10 µs of CPU an instruction, so it is
 * not written for every one of the 100 million: ttd's own run picks the least executed instruction
 * addresses, up to a budget of records, and QEMU logs every execution of those (-dfilter). So the
 * registers of everything but the hottest inner loops are compared instruction by instruction, the
 * loops' results where they next reach a logged address (src/bench/checkpoints.ts). Both streams go
 * through FIFOs into the comparison: bounded memory, no disk.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import type { CheckpointPlan } from "../../src/bench/checkpoints.js";
import type { LinuxLockstepReport } from "../../src/bench/linux-lockstep-core.js";
import { findQemu } from "../../src/bench/qemu-log.js";
import { REPO, requireBuilt } from "../trace/helpers.js";
import { debian } from "./debian.js";

const CMDLINE = "console=ttyS0 panic=-1 nokaslr";
const INSTRUCTIONS = 100_000_000;
/** QEMU's records: about one for every 12 instructions, some 70 s of QEMU's CPU. */
const RECORD_BUDGET = 8_000_000;

/**
 * The compiled comparison in a process of its own: 100 million steps of ttd run three to four times
 * slower through the test runner's module transform than compiled.
 */
function runCompiled(args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, "dist/bench/linux-lockstep.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => { stdout += s; });
    // Progress lines as they come.
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => process.stdout.write(s.replace(/^(?=.)/gm, "lockstep: ")));
    child.on("error", reject);
    child.on("exit", (status) => resolve({ status, stdout }));
  });
}

describe.skipIf(debian === null || !findQemu())("Debian's kernel in lockstep with QEMU from its 32-bit entry", () => {
  beforeAll(() => requireBuilt(fs.readdirSync(path.join(REPO, "src/bench")).filter((f) => f.endsWith(".ts")).map((f) => `src/bench/${f}`)));

  test(`the first ${INSTRUCTIONS.toLocaleString("en-US")} instructions agree`, async () => {
    const d = debian!;
    const started = performance.now();
    const run = await runCompiled([
      d.vmlinuz, "--initrd", d.initrd, "--append", CMDLINE, "--memory", "256",
      "--instructions", String(INSTRUCTIONS), "--records", String(RECORD_BUDGET), "--json",
    ]);
    const r = JSON.parse(run.stdout) as LinuxLockstepReport & { plan: Omit<CheckpointPlan, "logged"> & { logged: string } };
    const plan = r.plan;
    console.log(
      `lockstep: ${r.result.instructions.toLocaleString("en-US")} instructions (${r.result.addresses.toLocaleString("en-US")} addresses compared), ` +
        `registers at ${r.result.compared.toLocaleString("en-US")} ` +
        `logged at ${plan.loggedAddresses} of ${plan.executedAddresses} addresses (all that ran at most ${plan.hottestLogged} times), ` +
        `in ${((performance.now() - started) / 1000).toFixed(0)} s; CPU: ttd ${r.cpuSeconds.ttd.toFixed(0)} s, QEMU ${r.cpuSeconds.qemu?.toFixed(0) ?? "?"} s`,
    );
    expect(r.divergenceText).toBeNull();
    expect(run.status).toBe(0);
    expect(r.result.instructions).toBeGreaterThanOrEqual(INSTRUCTIONS);
    // Every instruction's address was QEMU's (its plugin), the logged ones' registers too.
    expect(r.result.addresses).toBe(r.result.instructions);
    // QEMU's log held exactly the records ttd's run said the logged addresses make.
    expect(r.qemuRecords).toBe(r.result.compared);
    expect(r.result.compared).toBe(plan.records + 1);
    expect(r.result.compared).toBeGreaterThan(RECORD_BUDGET * 0.9);
    // Most of the code is compared at every execution; the loader's registers are the only ones adopted.
    expect(plan.loggedAddresses).toBeGreaterThan(plan.executedAddresses * 0.7);
    expect(r.adopted.map((a) => a.name).sort()).toEqual(["eax", "eflags", "esi", "esp"]);
    expect(r.result.adopted).toEqual([]);
    // The firmware memory did differ (the copy is what lets the RSDP scan agree).
    expect(r.firmwareBytesDiffering).toBeGreaterThan(0);
  }, 1_800_000);
});
