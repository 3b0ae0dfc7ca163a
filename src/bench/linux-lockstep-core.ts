/**
 * A Linux bzImage under ttd and under QEMU 7.2 in lockstep from its 32-bit entry (code32_start): EIP
 * and the eight general registers compared, QEMU in icount mode (`-icount shift=0,sleep=off`) with
 * its CPU made like ttd's (qemu-cpu.ts).
 *
 * Where the two machines differ for reasons that are not the CPU's, ttd starts from QEMU's state:
 * - The loader: QEMU runs the kernel's real-mode setup code, which leaves boot_params and its stack
 *   elsewhere and other values in EAX, ESP and ESI; ttd enters at code32_start directly.
 * - The firmware: below 1 MiB QEMU's guest has SeaBIOS's interrupt table, BIOS data area, EBDA,
 *   option ROMs and BIOS area (with its ACPI RSDP), and boot_params filled in from BIOS calls (the
 *   cursor row after SeaBIOS's banner, EDID, APM); ttd has its own tables and leaves those fields zero.
 *   The decompressor reads all of these: boot_params, and the EBDA and BIOS area when it looks for the
 *   RSDP. So the RAM below 1 MiB (except the VGA window, device memory) is copied from QEMU as it is
 *   at the entry, read through QEMU's gdbstub, and the registers adopted from its state there.
 * Nothing is adopted after the first instruction: from there on a difference is the CPU's.
 *
 * Long comparisons log QEMU's state at a chosen set of instructions (checkpoints.ts) and stream the
 * log into the comparison as QEMU writes it (streamQemuLog), so memory and disk stay bounded.
 */
import * as fs from "node:fs";
import { Machine } from "../machine/machine.js";
import { readSetupHeader } from "../machine/linux-boot.js";
import { chooseCheckpoints, profileCode, runToLogged, type CheckpointPlan } from "./checkpoints.js";
import { CodeRanges, type AddressRange } from "./code-ranges.js";
import { MemoryCode } from "./disasm.js";
import { adoptLoaderState, formatDivergence, Lockstep, type LockstepResult, type RegisterDifference } from "./lockstep-core.js";
import { QEMU_CPU_LIKE_TTD } from "./qemu-cpu.js";
import { qemuStateAtEntry, type QemuEntryState } from "./qemu-gdb.js";
import { insnTracePlugin, insnTracePluginArgs } from "./qemu-insn-trace.js";
import { isRepStringAt, QemuLogError, streamQemuLog } from "./qemu-log.js";

/** RAM below 1 MiB that the firmware and the real-mode loader define: all of it but the VGA window. */
export const FIRMWARE_MEMORY: readonly AddressRange[] = [[0, 0xa0000], [0xc0000, 0x100000]];

/** Every address the kernel's code can run at before it enables paging: 1 MiB up to 4 GiB. */
const ALL_KERNEL_CODE: AddressRange = [0x100000, 0x1_0000_0000];

export interface LinuxLockstepOptions {
  vmlinuz: string;
  initrd?: string;
  cmdline: string;
  memoryMiB: number;
  /** Instructions from the entry to compare (the comparison ends at the first record at or after them). */
  instructions: number;
  /**
   * Records QEMU may write: Infinity logs every instruction; otherwise the checkpoints are chosen to
   * stay within it (checkpoints.ts).
   */
  recordBudget: number;
  qemu?: string;
  /**
   * Also compare the address of every instruction, logged or not, with QEMU's (its TCG plugin
   * qemu-insn-trace.c, built with the host's C compiler). Default true.
   */
  everyAddress?: boolean;
  /** Give up on QEMU after this long (default 20 minutes). */
  timeoutMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface LinuxLockstepReport {
  entry: number;
  /** The loader's registers adopted from QEMU at the entry. */
  adopted: RegisterDifference[];
  /** Bytes of FIRMWARE_MEMORY that differed between ttd and QEMU at the entry (QEMU's were taken). */
  firmwareBytesDiffering: number;
  /** The logged instructions, or null when every instruction is logged. */
  plan: CheckpointPlan | null;
  result: LockstepResult;
  /** Records QEMU's log had for the comparison, and repeats of its own it dropped. */
  qemuRecords: number;
  droppedRepeats: number;
  /** Wall-clock seconds of each phase. */
  seconds: { entryState: number; profile: number; lockstep: number };
  /** CPU seconds of this process (ttd, the log's parser) and of the QEMU runs (null where unknown). */
  cpuSeconds: { ttd: number; qemu: number | null };
  /** The divergence, readable (null when there is none). */
  divergenceText: string | null;
}

/** QEMU's command line for the kernel: the machine ttd's Linux tests compare against. */
export function qemuLinuxArgs(o: Pick<LinuxLockstepOptions, "vmlinuz" | "initrd" | "cmdline" | "memoryMiB">): string[] {
  return [
    "-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
    "-icount", "shift=0,sleep=off", "-cpu", QEMU_CPU_LIKE_TTD, "-m", String(o.memoryMiB),
    "-kernel", o.vmlinuz, ...(o.initrd ? ["-initrd", o.initrd] : []), "-append", o.cmdline,
  ];
}

/** ttd's machine loaded with the kernel, then given QEMU's firmware memory and loader registers. */
function machineAtQemuEntry(o: LinuxLockstepOptions, image: Uint8Array, q: QemuEntryState): { m: Machine; adopted: RegisterDifference[]; differing: number } {
  const initrd = o.initrd ? [{ string: o.initrd, file: o.initrd, data: new Uint8Array(fs.readFileSync(o.initrd)) }] : [];
  const m = Machine.fromElf(image, { memoryMiB: o.memoryMiB, cmdline: o.cmdline, modules: initrd });
  let differing = 0;
  for (const { start, bytes } of q.memory) {
    const ram = m.mem.u8.subarray(start, start + bytes.length);
    for (let i = 0; i < bytes.length; i++) if (ram[i] !== bytes[i]) differing++;
    ram.set(bytes);
  }
  return { m, adopted: adoptLoaderState(m, q.regs, q.eflags), differing };
}

export async function lockstepLinux(o: LinuxLockstepOptions): Promise<LinuxLockstepReport> {
  const log = o.log ?? (() => {});
  const image = new Uint8Array(fs.readFileSync(o.vmlinuz));
  let entry: number;
  try {
    entry = readSetupHeader(image).code32Start;
  } catch (err) {
    throw new QemuLogError(`${o.vmlinuz}: ${(err as Error).message}`);
  }
  const args = qemuLinuxArgs(o);
  const timeoutMs = o.timeoutMs ?? 1_200_000;
  const cpuStart = process.cpuUsage();
  const qemuStart = childCpuSeconds();

  let t = performance.now();
  const q = await qemuStateAtEntry(args, entry, FIRMWARE_MEMORY, { qemu: o.qemu, timeoutMs });
  const entrySeconds = (performance.now() - t) / 1000;
  log(`QEMU at the entry 0x${entry.toString(16)}: ${entrySeconds.toFixed(1)} s`);

  // The instructions QEMU logs and how many records they make.
  t = performance.now();
  let plan: CheckpointPlan | null = null;
  let logged = new CodeRanges([ALL_KERNEL_CODE]);
  let records = o.instructions;
  const repStrings = new Set<number>();
  if (Number.isFinite(o.recordBudget)) {
    const { m } = machineAtQemuEntry(o, image, q);
    const profile = profileCode(m, o.instructions, (addr) => {
      if (isRepStringAt(m.mem.u8, addr)) repStrings.add(addr);
    });
    plan = chooseCheckpoints(profile, o.recordBudget, [entry]);
    // The comparison ends at the first logged instruction at or after the last profiled one.
    if (runToLogged(m, plan.logged, 100_000_000) < 0) throw new QemuLogError("ttd reached no logged instruction after the profiled ones");
    logged = plan.logged;
    records = plan.records + 1;
    log(`checkpoints: ${plan.loggedAddresses} of ${plan.executedAddresses} executed addresses in ${logged.ranges.length} ranges, ` +
      `${records.toLocaleString("en-US")} records for ${profile.instructions.toLocaleString("en-US")} instructions ` +
      `(profiled in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const profileSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const { m, adopted, differing } = machineAtQemuEntry(o, image, q);
  const lockstep = new Lockstep(m, {
    limit: records,
    logged: plan ? logged : undefined,
    addresses: o.everyAddress === false ? undefined : { isRepStringAt: (addr) => isRepStringAt(m.mem.u8, addr) },
    progressInterval: Math.max(1, Math.ceil(records / 10)),
    onProgress: (n) => log(`${n.toLocaleString("en-US")} records agree (${(lockstep.result.instructions / 1e6).toFixed(0)} M instructions, ${((performance.now() - t) / 1000).toFixed(0)} s)`),
  });
  const plugin = o.everyAddress === false ? null : insnTracePlugin();
  const streamed = await streamQemuLog(
    args, entry, logged.toDfilter(), { maxRecords: records, icount: true, qemu: o.qemu, timeoutMs, ...(plan ? { repStrings } : {}) },
    (batch) => lockstep.feed(batch),
    plugin === null ? undefined : { pluginArgs: (fifo) => insnTracePluginArgs(plugin, fifo, entry), consume: (addresses) => lockstep.feedAddresses(addresses) },
  );
  const lockstepSeconds = (performance.now() - t) / 1000;
  const result = lockstep.result;
  if (result.divergence === null && result.compared < records) {
    throw new QemuLogError(`QEMU's log ended after ${result.compared} of ${records} records`);
  }
  return {
    entry,
    adopted,
    firmwareBytesDiffering: differing,
    plan,
    result,
    qemuRecords: streamed.records,
    droppedRepeats: streamed.droppedRepeats,
    seconds: { entryState: entrySeconds, profile: profileSeconds, lockstep: lockstepSeconds },
    cpuSeconds: { ttd: cpuSince(cpuStart), qemu: qemuStart === null ? null : (childCpuSeconds() ?? qemuStart) - qemuStart },
    divergenceText: result.divergence ? formatDivergence(result.divergence, new MemoryCode(m.mem.u8)) : null,
  };
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

/** CPU seconds of this process's ended children (Linux: /proc/self/stat's cutime and cstime), or null. */
function childCpuSeconds(): number | null {
  try {
    const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    // Fields 16 and 17 of the file (cutime, cstime, in USER_HZ ticks: 100 a second), counted after the
    // command's closing parenthesis.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}
