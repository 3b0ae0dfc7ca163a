import { describe, expect, it } from "vitest";
import { FpuState } from "../../src/cpu/fpu-state.js";
import { changedFpuRegisters, fpuRegisters } from "../../src/query/fpu-registers.js";
import { fpuChangesText } from "../../src/cli/log.js";
import type { StepRecord } from "../../src/trace/trace.js";

/** A state with 1.5 pushed (TOP 7, R7 valid) and xmm1 and MXCSR changed. */
function pushedOneAndAHalf() {
  const f = new FpuState();
  f.top = 7;
  f.mant[14] = 0;
  f.mant[15] = 0xc0000000;
  f.signExp[7] = 0x3fff;
  f.ftw = 0x3fff; // R7 valid, the others empty
  f.xmm[4] = 0xdeadbeef;
  f.mxcsr = 0x1fa0;
  return f.save();
}

describe("FPU registers as text", () => {
  it("names ST(i) by stack position, with the exact value and raw bits", () => {
    const regs = fpuRegisters(pushedOneAndAHalf());
    expect(regs[0]).toEqual({ name: "st0", value: "1.5", raw: "3fff:c000000000000000" });
    expect(regs[1].value).toBe("empty");
    expect(regs.find((r) => r.name === "fsw")!.value).toBe("3800"); // TOP 7
    expect(regs.find((r) => r.name === "ftw")!.value).toBe("3fff"); // valid: tag 0
    expect(regs.find((r) => r.name === "xmm1")!.raw).toBe("00000000 00000000 00000000 deadbeef");
  });

  it("lists what changed since the previous state", () => {
    const before = new FpuState().save();
    const after = pushedOneAndAHalf();
    expect([...changedFpuRegisters(before, after)].sort()).toEqual(["fsw", "ftw", "mxcsr", "st0", "xmm1"].sort());
    expect([...changedFpuRegisters(after, after)]).toEqual([]);
  });

  it("ttd log --fpu prints non-default registers first, then only changes", () => {
    const rec = (fpu: ReturnType<FpuState["save"]>): StepRecord => ({ step: 0, kind: "instruction", regs: {} as StepRecord["regs"], bytes: new Uint8Array(), fpu });
    expect(fpuChangesText(rec(new FpuState().save()), null)).toBeNull();
    const first = fpuChangesText(rec(pushedOneAndAHalf()), null)!;
    expect(first).toContain("st0=1.5 (3fff:c000000000000000)");
    expect(first).toContain("mxcsr=00001fa0");
    expect(first).not.toContain("fcw");
    expect(fpuChangesText(rec(pushedOneAndAHalf()), pushedOneAndAHalf())).toBeNull();
  });
});
