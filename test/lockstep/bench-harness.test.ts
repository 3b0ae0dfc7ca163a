import { describe, expect, test } from "vitest";
import { parseTtdSteps } from "../../src/bench/emulators.js";
import { fmtCount, fmtRatio, renderTable, timeProcess } from "../../src/bench/harness.js";

describe("benchmark harness", () => {
  test("finds the step count in the forms a run summary may take", () => {
    expect(parseTtdSteps("stopped: guest exit (status 21)\n34,045,911 steps in 0.21 s, 162.1 M instructions/s\n")).toBe(34045911);
    expect(parseTtdSteps("reason=exit steps=100880331 ips=175900000")).toBe(100880331);
    expect(parseTtdSteps("instructions retired: 3601157")).toBe(3601157);
    expect(parseTtdSteps("steps: 1_000_000")).toBe(1000000);
    expect(parseTtdSteps("ttd: probe.elf: not an ELF file")).toBeNull();
  });

  test("renders aligned tables with numbers to the right", () => {
    const text = renderTable({
      title: "T",
      columns: ["image", "MIPS"],
      rows: [["a.elf", "5.0"], ["longer.elf", "123.4"]],
      notes: ["note"],
    });
    expect(text.split("\n")).toEqual([
      "T",
      "image        MIPS",
      "----------  -----",
      "a.elf         5.0",
      "longer.elf  123.4",
      "note",
    ]);
    expect(fmtCount(34066459)).toBe("34,066,459");
    expect(fmtCount(null)).toBe("n/a");
    expect(fmtRatio(1.234)).toBe("1.23x");
    expect(fmtRatio(null)).toBe("n/a");
  });

  test("times a whole process and reports how it ended", async () => {
    const ok = await timeProcess(process.execPath, ["-e", "process.stdout.write('hi'); process.exit(3)"], { timeoutMs: 30_000 });
    expect(ok.stdout).toBe("hi");
    expect(ok.exitCode).toBe(3);
    expect(ok.seconds).toBeGreaterThan(0);
    const slow = await timeProcess(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { timeoutMs: 200 });
    expect(slow.timedOut).toBe(true);
    const missing = await timeProcess("/nonexistent/binary", [], { timeoutMs: 1000 });
    expect(missing.spawnError).toMatch(/ENOENT/);
  });
});
