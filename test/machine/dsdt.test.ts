/**
 * ttd's DSDT: the AML encoder's forms against the ACPI specification's encodings, and the whole table
 * disassembled by ACPICA's iasl (Debian's acpica-tools; skipped when it is not installed), which must
 * read it without a warning and find every object dsdt.ts means to describe.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { eisaId, field, FIELD_BYTE_ACC, int, nameString, pkgLength } from "../../src/machine/firmware/aml.js";
import { Machine } from "../../src/machine/machine.js";
import { findRsdp } from "../../src/machine/rsdp-scan.js";

const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** The DSDT in guest RAM, found as a kernel finds it: RSDP -> RSDT -> FADT -> DSDT. */
function readDsdt(ram: Uint8Array): Uint8Array {
  const rsdt = u32(findRsdp(ram)!, 16);
  const entries = (u32(ram, rsdt + 4) - 36) / 4;
  for (let i = 0; i < entries; i++) {
    const t = u32(ram, rsdt + 36 + 4 * i);
    if (String.fromCharCode(...ram.subarray(t, t + 4)) !== "FACP") continue;
    const dsdt = u32(ram, t + 40);
    return ram.slice(dsdt, dsdt + u32(ram, dsdt + 4));
  }
  throw new Error("no FADT");
}

describe("the AML encoder", () => {
  test("PkgLength counts its own bytes and grows at 63 and 4,095 bytes", () => {
    expect(pkgLength(0)).toEqual([0x01]);
    expect(pkgLength(62)).toEqual([0x3f]);
    expect(pkgLength(63)).toEqual([0x41, 0x04]); // 65 = 0x41: low nibble 1, then 0x04
    expect(pkgLength(4093)).toEqual([0x4f, 0xff]);
    expect(pkgLength(4094)).toEqual([0x81, 0x00, 0x01]); // 4,097: low nibble 1, then 0x00, 0x01
  });

  test("names, integers and EISA ids", () => {
    expect(nameString("\\_SB.PCI0")).toEqual([0x5c, 0x2e, ...Buffer.from("_SB_PCI0")]);
    expect(nameString("^LNK")).toEqual([0x5e, ...Buffer.from("LNK_")]);
    expect(nameString("\\_SB.PCI0.ISA")).toEqual([0x5c, 0x2f, 3, ...Buffer.from("_SB_PCI0ISA_")]);
    expect([int(0), int(1), int(0xff), int(0x100), int(0x10000)]).toEqual([[0x00], [0x01], [0x0a, 0xff], [0x0b, 0x00, 0x01], [0x0c, 0x00, 0x00, 0x01, 0x00]]);
    expect(eisaId("PNP0A03")).toEqual([0x0c, 0x41, 0xd0, 0x0a, 0x03]);
    expect(eisaId("PNP0B00")).toEqual([0x0c, 0x41, 0xd0, 0x0b, 0x00]);
  });

  test("a field's width is a plain number, not a package length", () => {
    expect(field("PIRQ", FIELD_BYTE_ACC, [["PRQA", 8], ["WIDE", 100]])).toEqual([
      0x5b, 0x81, 17, ...Buffer.from("PIRQ"), 0x01, ...Buffer.from("PRQA"), 8, ...Buffer.from("WIDE"), 0x44, 0x06,
    ]);
  });
});

const iasl = spawnSync("iasl", ["-v"], { encoding: "utf8" }).status === 0;

describe.skipIf(!iasl)("ttd's DSDT under ACPICA's disassembler", () => {
  test("iasl reads it and finds the PCI root, its routing, the links, the ISA devices and the sleep states", () => {
    const m = Machine.fromElf(fs.readFileSync("src/kernel/build/idle-fixed.elf"), { memoryMiB: 128 });
    const dsdt = readDsdt(m.mem.u8);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-dsdt-"));
    try {
      fs.writeFileSync(path.join(dir, "dsdt.aml"), dsdt);
      const r = spawnSync("iasl", ["-d", "dsdt.aml"], { cwd: dir, encoding: "utf8" });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/Warning|Error/i);
      const asl = fs.readFileSync(path.join(dir, "dsdt.dsl"), "utf8");
      for (const want of [
        'DefinitionBlock ("", "DSDT", 1, "TTD   ", "TTDPC   "',
        'Device (PCI0)', 'EisaId ("PNP0A03")', "0x08000000,         // Range Minimum", "0xFEBFFFFF,         // Range Maximum",
        "Name (_PRT, Package (0x01)", "\\_SB.LNKS,",
        "Device (ISA)", "OperationRegion (PIRQ, PCI_Config, 0x60, 0x04)",
        'EisaId ("PNP0303")', 'EisaId ("PNP0F13")', 'EisaId ("PNP0501")', 'EisaId ("PNP0B00")',
        "Device (LNKA)", "Device (LNKD)", "Device (LNKS)", "\\_SB.PCI0.ISA.PRQD |= 0x80",
        "Name (\\_S4, Package (0x04)", "Name (\\_S5, Package (0x04)",
      ]) expect(asl).toContain(want);
      expect(asl).not.toContain("_S3");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
