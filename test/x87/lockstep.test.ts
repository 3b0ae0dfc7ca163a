/**
 * The x87 guest in lockstep with QEMU 7.2: EIP and the eight general registers before every instruction
 * (the lockstep tool of src/bench; QEMU's `-d cpu` records). The guest's general registers carry x87
 * results through LAHF after FCOMI, through the hex digits it prints and through control flow, so a
 * wrong result diverges here too. Only the basic operations (the transcendental ones differ from QEMU
 * in some last bits, see qemu-guest.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { Machine } from "../../src/machine/machine.js";
import { ImageCode } from "../../src/bench/disasm.js";
import { formatDivergence, runLockstep } from "../../src/bench/lockstep-core.js";
import { findQemu, loadQemuTrace } from "../../src/bench/qemu-log.js";
import { buildCGuest, canBuildC } from "../machine/c-guests.js";
import { buildCases, header } from "./guest-cases.js";

describe.skipIf(!canBuildC || !findQemu())("x87 guest in lockstep with QEMU 7.2", () => {
  const dir = mkdtempSync(join(tmpdir(), "ttd-x87-lockstep-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has no divergence in EIP or the general registers", async () => {
    const { snippets, cases } = buildCases(6, 0);
    writeFileSync(join(dir, "x87-cases.h"), header(snippets, cases));
    const elf = buildCGuest("x87-cases", { includeDir: dir });
    const bytes = new Uint8Array(readFileSync(elf));
    const { trace } = await loadQemuTrace(elf, { maxRecords: Infinity });
    const result = runLockstep(Machine.fromElf(bytes), trace);
    const why = result.divergence ? formatDivergence(result.divergence, trace, new ImageCode(new Elf32(bytes))) : "";
    console.log(`x87 lockstep: ${result.compared} instructions compared (${cases.length} cases)`);
    expect(why).toBe("");
    expect(trace.complete).toBe(true);
    expect(result.compared).toBe(trace.count);
  }, 900_000);
});
