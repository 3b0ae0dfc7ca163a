import { describe, expect, test } from "vitest";
import { escalate, exceptionInfo, exceptionMnemonic, hasErrorCode } from "../../src/cpu/exceptions.js";

describe("the exception table", () => {
  test("error codes are pushed exactly for #DF, #TS, #NP, #SS, #GP, #PF and #AC", () => {
    const withCode = Array.from({ length: 256 }, (_, v) => v).filter(hasErrorCode);
    expect(withCode).toEqual([8, 10, 11, 12, 13, 14, 17]);
  });

  test("the double-fault table (SDM table 6-5)", () => {
    const contributory = [0, 10, 11, 12, 13];
    const benign = [1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19];
    for (const a of contributory) {
      for (const b of contributory) expect(escalate(a, b), `${a} then ${b}`).toBe(8);
      expect(escalate(a, 14), `${a} then #PF`).toBe(14);
      for (const b of benign) expect(escalate(a, b)).toBe(b);
    }
    for (const b of [...contributory, 14]) expect(escalate(14, b), `#PF then ${b}`).toBe(8);
    for (const b of benign) expect(escalate(14, b)).toBe(b);
    for (const a of benign) for (const b of [...contributory, 14]) expect(escalate(a, b), `${a} then ${b}`).toBe(b);
  });

  test("names", () => {
    expect(exceptionMnemonic(13)).toBe("#GP");
    expect(exceptionMnemonic(2)).toBe("NMI");
    expect(exceptionMnemonic(0x20)).toBeNull();
    expect(exceptionInfo(8)?.kind).toBe("abort");
    expect(exceptionInfo(14)?.name).toBe("page fault");
  });
});
