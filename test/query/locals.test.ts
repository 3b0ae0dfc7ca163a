/**
 * Locals and parameters in why-write expressions, evaluated at the question step's EIP: on the demo
 * kernel (clang 14 -O2, DWARF 5 location lists) `r[EAX]` in restore_user_context is the current TCB's
 * saved EAX; on the clang DWARF 4 fixture (-O1, frame base EBP) and the gcc DWARF 4 one (-O0, frame
 * base DW_OP_call_frame_cfa) every DW_OP_fbreg local llvm-dwarfdump lists is found at the frame base
 * plus its offset, at its function's entry and a few steps in.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { openRecording, type Recording } from "../../src/bundle/open.js";
import { QueryContext } from "../../src/query/context.js";
import { LocationError, resolveLocation } from "../../src/query/location.js";
import type { LocationList } from "../../src/symbols/location-lists.js";
import { recordInline, tmpDir, REPO } from "../trace/helpers.js";
import { dumpString, parseDebugInfo, parseReadelfFrames, run, toolAvailable, walkDump } from "../symbols/tool-output.js";

describe("demo kernel: r in restore_user_context", () => {
  let rec: Recording;
  let q: QueryContext;
  beforeAll(() => {
    rec = openRecording(path.join(REPO, "traces/idle-bug.ttdb"));
    q = QueryContext.fromRecording(rec);
  });
  afterAll(() => rec.close());

  const rList = () => {
    const r = rec.symbols!.allLocals().find((l) => l.name === "r" && l.functionName === "restore_user_context")!;
    expect(r, "restore_user_context declares r").toBeDefined();
    return (r.location as { list: LocationList }).list;
  };

  test("r[EAX] is the current thread's saved EAX wherever r has a location", () => {
    const list = rList();
    expect(list.entries.length).toBeGreaterThan(0);
    let checked = 0;
    for (const e of list.entries) {
      const step = q.trace.findInstruction([e.low], q.trace.startStep, q.trace.steps, "last");
      if (step === null) continue;
      const viaLocal = resolveLocation(q, "r[EAX]", step);
      const viaGlobal = resolveLocation(q, "ksCurThread->tcbArch.tcbContext.registers[EAX]", step);
      expect(viaLocal).toMatchObject({ kind: "memory", address: (viaGlobal as { address: number }).address, size: 4 });
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  test("outside its location list r is optimised out, and the error says where", () => {
    const list = rList();
    const fn = rec.symbols!.functionNamed("restore_user_context")!;
    // restore_user_context's first instruction: before any entry of the list.
    expect(list.entries.every((e) => fn.entry < e.low)).toBe(true);
    const step = q.trace.findInstruction([fn.entry], q.trace.startStep, q.trace.steps, "last")!;
    expect(() => resolveLocation(q, "r[EAX]", step)).toThrow(LocationError);
    expect(() => resolveLocation(q, "r[EAX]", step)).toThrow(/`r` is optimised out at 0x[0-9a-f]+ \(in restore_user_context\)/);
  });

  test("ttd why-write takes a local", () => {
    const step = q.trace.findInstruction([rList().entries[0].low], q.trace.startStep, q.trace.steps, "last")!;
    const out = execFileSync(process.execPath, [path.join(REPO, "dist/cli/main.js"), "why-write", "r[Error]", "--trace", path.join(REPO, "traces/idle-bug.ttdb"), "--at", String(step), "--json"], { encoding: "utf8" });
    const j = JSON.parse(out) as { location: { address: string | number; expression: string } };
    const want = resolveLocation(q, "ksCurThread->tcbArch.tcbContext.registers[Error]", step) as { address: number };
    expect(Number(j.location.address)).toBe(want.address);
  });
});

/** The CFA at `eip` from readelf's frame table (`readelf -wF`): the register and offset of its row. */
function cfaFromReadelf(elf: string): (eip: number, regs: Record<string, number>) => number | undefined {
  const rows = parseReadelfFrames(run("readelf", ["-wF", elf])).flatMap((f) => f.rows.map((r) => ({ ...r, end: f.end })));
  return (eip, regs) => {
    const row = rows.filter((r) => r.address <= eip && eip < r.end).sort((a, b) => b.address - a.address)[0];
    return row === undefined ? undefined : (regs[row.register] + row.offset) >>> 0;
  };
}

// clang keeps the frame base in EBP (DW_OP_reg5); gcc says DW_OP_call_frame_cfa, found from .eh_frame.
describe.skipIf(!toolAvailable("llvm-dwarfdump") || !toolAvailable("readelf")).each([
  ["clang-dwarf4.elf", "EBP"],
  ["gcc-dwarf4.elf", "the CFA"],
])("%s: frame-based locals off %s", (image) => {
  const elf = path.join(REPO, "test/symbols/fixtures", image);
  let rec: Recording;
  let q: QueryContext;
  beforeAll(async () => {
    const out = path.join(tmpDir(), "f.trace");
    await recordInline(elf, out, { memoryMiB: 32 });
    rec = openRecording(out);
    q = QueryContext.fromRecording(rec);
  }, 60_000);
  afterAll(() => rec?.close());

  test("each DW_OP_fbreg local llvm-dwarfdump lists is at the frame base + its offset, where its scope begins and a few steps in", () => {
    const dies = [...walkDump(parseDebugInfo(run("llvm-dwarfdump", ["--debug-info", elf])))];
    const cfa = cfaFromReadelf(elf);
    let checked = 0;
    for (const d of dies) {
      const m = /^DW_OP_fbreg ([+-]\d+)$/.exec(d.attrs.get("DW_AT_location") ?? "");
      const name = dumpString(d.attrs.get("DW_AT_name"));
      if (!m || name === undefined) continue;
      let fn = d.parent;
      while (fn && fn.tag !== "DW_TAG_subprogram") fn = fn.parent;
      // The variable's scope: its innermost enclosing block with code (a lexical block, or the function).
      let scope = d.parent;
      while (scope && !scope.attrs.has("DW_AT_low_pc")) scope = scope.parent;
      const low = scope ? parseInt(scope.attrs.get("DW_AT_low_pc") ?? "", 16) : NaN;
      if (!fn || !scope || !(low > 0)) continue;
      const frameBase = fn.attrs.get("DW_AT_frame_base") ?? "";
      const entry = q.trace.findInstruction([low], q.trace.startStep, q.trace.steps, "first");
      if (entry === null) continue;
      // llvm-dwarfdump prints DW_AT_high_pc as the end address.
      const high = parseInt(scope.attrs.get("DW_AT_high_pc") ?? "", 16);
      for (const at of [entry, entry + 3]) {
        const regs = q.trace.stateAt(at).regs as unknown as Record<string, number>;
        if (!(regs.eip >= low && regs.eip < high)) continue;
        const base = /DW_OP_reg5/.test(frameBase) ? regs.ebp : /DW_OP_call_frame_cfa/.test(frameBase) ? cfa(regs.eip, regs) : undefined;
        expect(base, `${name}: frame base ${frameBase} at 0x${regs.eip.toString(16)}`).toBeDefined();
        const loc = resolveLocation(q, name, at);
        expect(loc, `${name} at step ${at}`).toMatchObject({ kind: "memory", address: (base! + Number(m[1])) >>> 0 });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe("gcc DWARF 5 fixture (-O2): a local kept in a register", () => {
  const elf = path.join(REPO, "test/symbols/fixtures/gcc-dwarf5.elf");
  let trace: string;
  beforeAll(async () => {
    trace = path.join(tmpDir(), "g.trace");
    await recordInline(elf, trace, { memoryMiB: 32 });
  }, 60_000);

  test("why-write on it asks when that register last changed, and says which register it is", () => {
    const rec = openRecording(trace);
    let found: { name: string; register: string; step: number } | null = null;
    try {
      for (const l of rec.symbols!.allLocals()) {
        if (l.location === undefined || !("list" in l.location)) continue;
        for (const e of l.location.list.entries) {
          const op = e.expression[0];
          if (e.high <= e.low || e.expression.length !== 1 || op < 0x50 || op > 0x57) continue;
          // Only where no other local of that name is in scope too.
          if (rec.symbols!.localsAt(e.low).filter((x) => x.name === l.name).length !== 1) continue;
          const step = rec.trace.findInstruction([e.low], rec.trace.startStep, rec.trace.steps, "last");
          if (step !== null) found = { name: l.name, register: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"][op - 0x50], step };
        }
        if (found !== null) break;
      }
    } finally {
      rec.close();
    }
    expect(found, "a local in a register at an executed address").not.toBeNull();
    const { name, register, step } = found!;
    const cli = path.join(REPO, "dist/cli/main.js");
    const text = execFileSync(process.execPath, [cli, "why-write", name, "--trace", trace, "--at", String(step)], { encoding: "utf8" });
    expect(text.split("\n")[0]).toBe(`${name} is in register ${register} at step ${step}`);
    const j = JSON.parse(execFileSync(process.execPath, [cli, "why-write", name, "--trace", trace, "--at", String(step), "--json"], { encoding: "utf8" })) as { register: string; expression: string };
    expect(j).toMatchObject({ register, expression: name });
  });
});
