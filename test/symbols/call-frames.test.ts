/**
 * The call frame reader against readelf's interpreted frame tables (`readelf -wF`): for every FDE of
 * every image (.debug_frame from clang, .eh_frame from gcc), the CFA rule of each row holds at the
 * row's first address and at its last, and no rule is given outside every FDE. (readelf, not
 * llvm-dwarfdump: llvm-dwarfdump 14 does not restore the CFA on DW_CFA_restore_state, which gcc's
 * early-return epilogues use; the DWARF rule, libgcc's unwinder and readelf do.)
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { CallFrames } from "../../src/symbols/call-frames.js";
import { I386_DWARF_REGISTERS } from "../../src/symbols/constants.js";
import { FIXTURE_ELFS, KERNEL_ELFS, WORKLOAD_ELFS } from "./images.js";
import { parseReadelfFrames, run, toolAvailable } from "./tool-output.js";

const IMAGES = [...FIXTURE_ELFS, ...WORKLOAD_ELFS, ...KERNEL_ELFS];

describe.skipIf(!toolAvailable("readelf"))("call frame information agrees with readelf", () => {
  for (const path of IMAGES) {
    it(basename(path), () => {
      const frames = new CallFrames(new Elf32(new Uint8Array(readFileSync(path))));
      expect(frames.warnings).toEqual([]);
      const fdes = parseReadelfFrames(run("readelf", ["-wF", path]));
      let rows = 0;
      for (const fde of fdes) {
        fde.rows.forEach((row, i) => {
          const last = (i + 1 < fde.rows.length ? fde.rows[i + 1].address : fde.end) - 1;
          for (const at of [row.address, last]) {
            expect(frames.cfaRuleAt(at), `0x${at.toString(16)}`).toEqual({ register: I386_DWARF_REGISTERS.indexOf(row.register), offset: row.offset });
          }
          rows++;
        });
        expect(frames.cfaRuleAt(fde.end + 0x100000), "far past the FDE").toBeUndefined();
      }
      expect(frames.empty).toBe(fdes.length === 0);
      if (fdes.length > 0) expect(rows).toBeGreaterThan(0);
    });
  }
});
