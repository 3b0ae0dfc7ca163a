/**
 * Debian's kernel under ttd and under QEMU 7.2, instruction by instruction from the 32-bit entry
 * (code32_start): EIP and the eight general registers before every instruction, QEMU in icount mode
 * with its CPU made like ttd's (see debian.ts).
 *
 * QEMU reaches the entry through the kernel's real-mode setup, which puts boot_params elsewhere and
 * leaves other values in EAX, ESP and ESI: the comparison adopts QEMU's registers at the entry (as the
 * multiboot lockstep tests do) and puts ttd's zero page where QEMU's ESI points.
 *
 * How far they agree is bounded by the firmware, not the CPU: after relocating itself and clearing its
 * bss, the decompressor looks for the ACPI RSDP in the BIOS area (0xe0000-0xfffff), which under QEMU
 * holds SeaBIOS's code and under ttd only ttd's tables, so the bytes it reads differ there
 * (docs/machine.md lists the firmware differences). The test requires agreement up to that point and
 * that the first difference is such a read.
 */
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { Machine } from "../../src/machine/machine.js";
import { findQemu, recordQemuLog } from "../../src/bench/qemu-log.js";
import { formatDivergence, runLockstep } from "../../src/bench/lockstep-core.js";
import { debian, QEMU_CPU_LIKE_TTD } from "./debian.js";
import { ZERO_PAGE_ADDRESS } from "../../src/machine/linux-boot.js";

const CMDLINE = "console=ttyS0 panic=-1 nokaslr";
/** Instructions QEMU logs: a little past where the BIOS-area scan starts (1,510,343 with this kernel). */
const RECORDS = 1_600_000;
const BIOS_AREA = [0xe0000, 0x100000];

describe.skipIf(debian === null || !findQemu())("Debian's kernel in lockstep with QEMU from its 32-bit entry", () => {
  test(`the first ${RECORDS.toLocaleString("en-US")} instructions agree up to the decompressor's read of the BIOS area`, async () => {
    const d = debian!;
    const q = await recordQemuLog(
      [
        "-display", "none", "-no-reboot", "-net", "none", "-monitor", "none", "-serial", "stdio",
        "-icount", "shift=0,sleep=off", "-cpu", QEMU_CPU_LIKE_TTD, "-m", "256",
        "-kernel", d.vmlinuz, "-initrd", d.initrd, "-append", CMDLINE,
      ],
      0x100000,
      // The protected-mode kernel where it is loaded, and where the decompressor moves itself.
      "0x100000+0x800000,0x1000000+0x1100000",
      { maxRecords: RECORDS, icount: true, timeoutMs: 1_200_000 },
    );
    expect(q.trace.count).toBe(RECORDS);
    const read = (p: string) => new Uint8Array(fs.readFileSync(p));
    const m = Machine.fromElf(read(d.vmlinuz), { memoryMiB: 256, cmdline: CMDLINE, modules: [{ string: d.initrd, file: d.initrd, data: read(d.initrd) }] });
    // ttd's zero page, also where QEMU's setup code left boot_params (ESI at the entry).
    const qemuZeroPage = q.trace.regs[6] >>> 0;
    expect(qemuZeroPage + 4096).toBeLessThanOrEqual(0x20000);
    m.mem.u8.copyWithin(qemuZeroPage, ZERO_PAGE_ADDRESS, ZERO_PAGE_ADDRESS + 4096);
    const r = runLockstep(m, q.trace);
    console.log(`lockstep: ${r.compared.toLocaleString("en-US")} instructions agree; adopted ${r.adopted.map((a) => a.name).join(", ")}`);
    expect(r.adopted.map((a) => a.name).sort()).toEqual(["eax", "eflags", "esi", "esp"]);
    if (r.divergence === null) return;
    const why = formatDivergence(r.divergence, q.trace, null);
    expect(r.compared, why).toBeGreaterThan(1_500_000);
    // The difference is a byte the decompressor read from the BIOS area (its pointer in EBP/EDI/EDX).
    const pointers = [5, 7, 2].map((i) => r.divergence!.ttd.regs[i]);
    expect(pointers.some((p) => p >= BIOS_AREA[0] && p < BIOS_AREA[1]), why).toBe(true);
    expect(r.divergence.differences.every((x) => x.name !== "eip"), why).toBe(true);
  }, 1_800_000);
});
