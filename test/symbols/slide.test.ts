/**
 * Symbols of an image that ran somewhere other than where it was linked (LoadOptions.slide: a Linux
 * kernel KASLR moved): every address the ELF symbols, the DWARF (attributes, .debug_addr, range and
 * location lists, line programs) and the call frames hold moves by the slide, both when the DWARF is
 * parsed whole and when it is loaded through its index, while types and names stay what they were.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { DwarfIndex } from "../../src/symbols/dwarf-index.js";
import { DwarfSections } from "../../src/symbols/sections.js";
import { Elf32 } from "../../src/elf/elf32.js";
import { REPO } from "../trace/helpers.js";

const SLIDE = 0x3000000;
const elf = new Elf32(new Uint8Array(fs.readFileSync(path.join(REPO, "src/guests/workload/build/workload-r10.elf"))));

describe.each([
  { how: "parsed whole", load: (slide: number) => DebugInfo.fromElf(elf, { slide }) },
  { how: "through its index", load: (slide: number) => DebugInfo.fromElf(elf, { slide, index: DwarfIndex.build(DwarfSections.fromElf(elf)) }) },
])("an image loaded moved by a slide ($how)", ({ load }) => {
  const linked = DebugInfo.fromElf(elf);
  const moved = load(SLIDE);
  const functions = linked.functions().filter((f) => !f.elfOnly && f.ranges.length > 0);
  const variables = linked.variables().filter((v) => v.address !== undefined && !v.elfOnly);

  test("the image has what the comparison needs", () => {
    expect(functions.length).toBeGreaterThanOrEqual(3);
    expect(variables.length).toBeGreaterThanOrEqual(3);
    expect(linked.allLocals().some((l) => l.location !== undefined && "list" in l.location)).toBe(true);
    expect(linked.callFrames.empty).toBe(false);
  });

  test("functions, their ranges, lines and call frames move by the slide", () => {
    for (const f of functions) {
      const at = moved.functionAt(f.entry + SLIDE);
      expect(at?.function.name, f.name).toBe(f.name);
      expect(at?.offset).toBe(0);
      expect(moved.functionNamed(f.name)?.ranges).toEqual(f.ranges.map((r) => ({ low: r.low + SLIDE, high: r.high + SLIDE })));
      for (const r of f.ranges) {
        for (let pc = r.low; pc < r.high; pc += 3) {
          const line = linked.sourceAt(pc);
          expect(moved.sourceAt(pc + SLIDE), `${f.name} at 0x${pc.toString(16)}`).toEqual(line === undefined ? undefined : { ...line, address: line.address + SLIDE });
          expect(moved.symbolize(pc + SLIDE)).toBe(linked.symbolize(pc));
          expect(moved.callFrames.cfaRuleAt(pc + SLIDE)).toEqual(linked.callFrames.cfaRuleAt(pc));
          expect(moved.localsAt(pc + SLIDE).map((l) => l.name)).toEqual(linked.localsAt(pc).map((l) => l.name));
        }
      }
      const line = linked.sourceAt(f.entry);
      if (line !== undefined) expect(moved.addressesForLine(line.file, line.line)).toEqual(linked.addressesForLine(line.file, line.line).map((a) => a + SLIDE));
    }
  });

  test("variables, their storage and the ELF symbols move by the slide; the image's bytes with them", () => {
    for (const v of variables) {
      expect(moved.variable(v.name, v.scope)?.address, v.name).toBe(v.address! + SLIDE);
      expect(moved.dataAt(v.address! + SLIDE)?.variable.name).toBe(linked.dataAt(v.address!)?.variable.name);
      expect(moved.imageBytes(v.address! + SLIDE, v.size)).toEqual(linked.imageBytes(v.address!, v.size));
    }
    for (const s of linked.elfSymbols.codeSymbols()) expect(moved.elfSymbols.named(s.name).map((x) => x.value)).toContain(s.value + SLIDE);
    // Code is read where it ran, not where it was linked.
    expect(moved.imageBytes(functions[0].entry + SLIDE, 16)).toEqual(linked.imageBytes(functions[0].entry, 16));
  });

  test("location lists are moved with the code they describe", () => {
    const listed = (d: DebugInfo) => d.allLocals().flatMap((l) => (l.location !== undefined && "list" in l.location ? [{ name: `${l.functionName}.${l.name}`, scope: l.scope, entries: l.location.list.entries.map((e) => [e.low, e.high]) }] : []));
    const before = listed(linked);
    expect(before.length).toBeGreaterThan(0);
    const by = (x: number[]) => x.map((a) => a + SLIDE);
    expect(listed(moved)).toEqual(before.map((l) => ({ name: l.name, scope: l.scope.map((r) => ({ low: r.low + SLIDE, high: r.high + SLIDE })), entries: l.entries.map(by) })));
  });
});
