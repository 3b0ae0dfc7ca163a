/**
 * DebugInfo on the fixture kernel as four compilers/versions built it (clang 14 and gcc 12, DWARF 4 and
 * 5) and without debug information: variables, types and layouts, enumerators, functions, symbolization,
 * line lookups and data paths. Layout facts come from the C source (kernel.h), so every build must agree.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { findMember, resolveType, sizeOf, typeName, type CType, type StructType } from "../../src/symbols/types.js";
import { FIXTURE_ELFS, fixture } from "./images.js";

function struct(t: CType | undefined): StructType {
  const r = t && resolveType(t);
  if (!r || (r.kind !== "struct" && r.kind !== "union")) throw new Error(`not a struct: ${t && typeName(t)}`);
  return r;
}

const load = (path: string): DebugInfo => DebugInfo.fromElf(new Uint8Array(readFileSync(path)), { strict: true });

describe.each(FIXTURE_ELFS.map((p) => [basename(p), p]))("%s", (_name, path) => {
  const di = load(path);
  const elf = new Elf32(new Uint8Array(readFileSync(path)));
  const symbol = (name: string) => elf.symbols().find((s) => s.name === name)!;

  it("has three compile units with line tables", () => {
    expect(di.hasDwarf).toBe(true);
    expect(di.hasLines).toBe(true);
    expect(di.linesUnavailableReason).toBeUndefined();
    expect(di.units.map((u) => u.name).sort()).toEqual(["boot.S", "kernel.c", "util.c"]);
    expect(di.units.find((u) => u.name === "kernel.c")!.producer).toMatch(/clang version 14|GNU C\d* 12/);
  });

  it("finds globals at the ELF symbol's address, with their types", () => {
    for (const [name, type, size] of [
      ["ksCurThread", "tcb_t *", 4], ["ksIdleThreadTCB", "char[2048]", 2048], ["initThread", "tcb_t", sizeOf(di.findType("tcb_t")!)],
      ["arr", "word_t[4096]", 16384], ["matrix", "int[3][4]", 48], ["runQueue", "tcb_ptr_t[4]", 16], ["utilBuffer", "word_t[8]", 32],
    ] as const) {
      const v = di.variable(name)!;
      expect(v, name).toBeDefined();
      expect(v.address, name).toBe(symbol(name).value);
      expect(typeName(v.type), name).toBe(type);
      expect(v.size, name).toBe(size);
    }
    expect(di.variable("ksCurThread")!.external).toBe(true);
    expect(di.variable("arr")!.external).toBe(false);
    expect(di.variable("arr")!.cu!.name).toBe("kernel.c");
    expect(di.variable("utilCounter")!.cu!.name).toBe("util.c");
    expect(di.variable("ksCurThread")!.declFile).toMatch(/fixtures\/kernel\.c$/);
    expect(di.variable("ksCurThread")!.declLine).toBe(20);
    // `const volatile word_t *volatile` in either qualifier order
    expect(typeName(di.variable("mmioWindow")!.type)).toMatch(/^(const volatile|volatile const) word_t \*volatile$/);
  });

  it("finds a function-scope static by name and by function::name", () => {
    const r = di.variable("rounds")!;
    expect(r.scope).toBe("schedule");
    expect(di.variable("rounds", "schedule")).toBe(r);
    expect(di.variable("rounds", "kmain")).toBeUndefined();
    expect(r.address).toBeGreaterThan(0);
  });

  it("lays out the seL4-style TCB as the C source says", () => {
    const tcb = struct(di.findType("struct tcb"));
    expect(di.findType("tcb_t")).toMatchObject({ kind: "typedef", name: "tcb_t" });
    const off = (path: string): number => {
      let t: StructType = tcb;
      let total = 0;
      const parts = path.split(".");
      parts.forEach((p, i) => {
        const m = findMember(t, p)!;
        expect(m, p).toBeDefined();
        total += m.offset;
        if (i < parts.length - 1) t = struct(m.type);
      });
      return total;
    };
    expect(off("tcbArch.tcbContext.fpuState")).toBe(0);
    expect(off("tcbArch.tcbContext.registers")).toBe(512);
    expect(off("tcbState")).toBe(512 + 17 * 4);
    expect(off("tcbFault")).toBe(off("tcbState") + 12);
    const regs = findMember(struct(findMember(struct(findMember(tcb, "tcbArch")!.type), "tcbContext")!.type), "registers")!;
    expect(resolveType(regs.type)).toMatchObject({ kind: "array", count: 17 });
    expect(typeName(findMember(tcb, "tcbHandler")!.type)).toBe("int (*)(int, char)");
    expect(typeName(findMember(tcb, "tcbSchedNext")!.type)).toBe("tcb_ptr_t");
    expect(typeName(findMember(tcb, "tcbSchedPrev")!.type)).toBe("struct tcb *");
    expect(typeName(findMember(tcb, "tcbName")!.type)).toBe("char[16]");
  });

  it("places bitfields at their bit offsets", () => {
    const ts = struct(di.findType("thread_state_t"));
    expect(ts.members.map((m) => [m.name, m.bitOffset, m.bitSize])).toEqual([
      ["tsType", 0, 4], ["blockingIPCBadge", 4, 28], ["blockingObject", undefined, undefined], ["delta", 64, 5], ["flags", undefined, undefined],
    ]);
    expect(ts.size).toBe(12);
  });

  it("handles unions and anonymous members", () => {
    const cap = struct(di.findType("union cap_word"));
    expect(cap.kind).toBe("union");
    expect(cap.members.map((m) => [m.name, m.offset])).toEqual([["raw", 0], ["bytes", 0], ["halves", 0]]);
    const irq = struct(di.findType("irq_state_t"));
    expect(irq.members[1].name).toBeUndefined();
    expect(findMember(irq, "vector")).toMatchObject({ offset: 4 });
    expect(findMember(irq, "raw")).toMatchObject({ offset: 4 });
    expect(findMember(irq, "deadline")).toMatchObject({ offset: 8 });
  });

  it("nests multi-dimensional arrays one level per dimension", () => {
    const m = resolveType(di.variable("matrix")!.type);
    expect(m).toMatchObject({ kind: "array", count: 3 });
    if (m.kind !== "array") return;
    expect(resolveType(m.element)).toMatchObject({ kind: "array", count: 4 });
    expect(sizeOf(m.element)).toBe(16);
  });

  it("knows enumerators by name", () => {
    expect(di.enumerator("Error")?.value).toBe(9n);
    expect(di.enumerator("NextIP")?.value).toBe(10n);
    expect(di.enumerator("Error")?.type.name).toBe("_register");
    expect(di.enumerator("ThreadState_IdleThreadState")?.value).toBe(7n);
    expect(di.enumerator("Nope")).toBeUndefined();
    const e = resolveType(di.findType("enum _register")!);
    expect(e.kind === "enum" && e.enumerators.length).toBe(17);
  });

  it("finds functions with ranges, and names addresses function+offset", () => {
    for (const name of ["checksum", "schedule", "idle_thread", "kmain", "segment_length2", "getRegister"]) {
      const f = di.functionNamed(name)!;
      expect(f, name).toBeDefined();
      expect(f.elfOnly).toBe(false);
      expect(f.entry).toBe(symbol(name).value);
      expect(f.ranges[0].high - f.ranges[0].low).toBe(symbol(name).size);
      expect(di.functionAt(f.entry + 1)).toMatchObject({ function: { name }, offset: 1 });
      expect(di.symbolize(f.entry)).toBe(name);
      expect(di.symbolize(f.entry + 2)).toBe(`${name}+0x2`);
    }
    expect(typeName(di.functionNamed("checksum")!.type!)).toBe("word_t (const u8 *, word_t)");
    expect(di.functionNamed("kmain")!.cu!.name).toBe("util.c");
  });

  it("falls back to ELF symbols for assembly with no DWARF functions", () => {
    const start = symbol("_start").value;
    expect(di.functionAt(start + 1)).toMatchObject({ function: { name: "_start", elfOnly: true }, offset: 1 });
    expect(di.symbolize(symbol("halt_loop").value + 1)).toBe("halt_loop+0x1");
    // ...while the line table of boot.S still maps it to source.
    expect(di.sourceAt(start)).toMatchObject({ line: 17 });
    expect(di.sourceAt(start)!.file).toMatch(/boot\.S$/);
  });

  it("maps addresses to source lines and back", () => {
    const f = di.functionNamed("idle_thread")!;
    const loc = di.sourceAt(f.entry)!;
    expect(loc.file).toMatch(/fixtures\/kernel\.c$/);
    expect(loc.line).toBeGreaterThanOrEqual(76); // gcc -O2 starts right at the hlt loop (79)
    expect(loc.line).toBeLessThanOrEqual(79);
    // The hlt loop is line 79: its code lies inside idle_thread and maps back to that line.
    const addrs = di.addressesForLine("kernel.c", 79);
    expect(addrs.length).toBeGreaterThan(0);
    for (const a of addrs) {
      expect(di.functionAt(a)?.function.name).toBe("idle_thread");
      expect(di.sourceAt(a)).toMatchObject({ line: 79 });
    }
    expect(di.addressesForLine("fixtures/kernel.c", 79)).toEqual(addrs);
    expect(di.addressesForLine(loc.file, 79)).toEqual(addrs);
    expect(di.addressesForLine("other.c", 79)).toEqual([]);
    expect(di.addressesForLine("kernel.c", 31)).toEqual([]);
    expect(di.lines.nextLineWithCode("kernel.c", 31)).toBe(32);
    // The insertion sort's shifting store (inlined into schedule by some builds).
    const store = di.addressesForLine("kernel.c", 51);
    expect(store.length).toBeGreaterThan(0);
    expect(["insertion_sort", "schedule"]).toContain(di.functionAt(store[0])!.function.name);
    expect(di.sourceAt(0x50)).toBeUndefined();
  });

  it("names data addresses by variable and field path", () => {
    const init = di.variable("initThread")!.address!;
    expect(di.dataAt(init + 512 + 9 * 4)).toMatchObject({ path: "initThread.tcbArch.tcbContext.registers[9]", offset: 0 });
    expect(di.dataAt(init + 512 + 9 * 4 + 2)).toMatchObject({ path: "initThread.tcbArch.tcbContext.registers[9]", offset: 2 });
    expect(di.dataAt(init + 3)?.path).toBe("initThread.tcbArch.tcbContext.fpuState.state[3]");
    expect(di.dataAt(init + 580)?.path).toBe("initThread.tcbState.tsType");
    expect(di.dataAt(di.variable("arr")!.address! + 17 * 4)?.path).toBe("arr[17]");
    expect(di.dataAt(di.variable("matrix")!.address! + 4 * 4 + 8)?.path).toBe("matrix[1][2]");
    expect(di.symbolize(di.variable("arr")!.address! + 0x44)).toBe("arr+0x44");
    expect(di.pathWithin(di.findType("tcb_t")!, 512 + 10 * 4).path).toBe(".tcbArch.tcbContext.registers[10]");
  });

  it("completes forward declarations from the unit that defines them", () => {
    const decl = { kind: "struct" as const, name: "tcb", size: 0, members: [], declaration: true };
    expect(di.complete(decl)).toBe(di.findType("struct tcb"));
  });
});

describe("an ELF without DWARF", () => {
  const di = load(fixture("nodebug.elf"));

  it("loads its symbols and says source lines are unavailable", () => {
    expect(di.hasDwarf).toBe(false);
    expect(di.hasLines).toBe(false);
    expect(di.linesUnavailableReason).toMatch(/no DWARF.*source lines are unavailable/);
    expect(di.units).toEqual([]);
    expect(di.warnings).toEqual([]);
  });

  it("answers function+offset and data symbols from the symbol table", () => {
    const f = di.functionNamed("schedule")!;
    expect(f.elfOnly).toBe(true);
    expect(di.functionAt(f.entry + 5)).toMatchObject({ function: { name: "schedule" }, offset: 5 });
    expect(di.sourceAt(f.entry)).toBeUndefined();
    const arr = di.variable("arr")!;
    expect(arr.elfOnly).toBe(true);
    expect(arr.size).toBe(16384);
    expect(di.symbolize(arr.address! + 8)).toBe("arr+0x8");
    expect(di.enumerator("Error")).toBeUndefined();
    expect(di.findType("tcb_t")).toBeUndefined();
  });
});

describe("input errors", () => {
  it("rejects a file that is not an ELF with the ELF reader's message", () => {
    expect(() => DebugInfo.fromElf(new TextEncoder().encode("not an elf at all, just some text here, long enough to pass the size check"))).toThrow(/not an ELF file/);
  });
});

describe("data lookups where ELF labels share an address with a variable", () => {
  it("names the DWARF variable, not the label", () => {
    let checked = 0;
    for (const path of FIXTURE_ELFS) {
      const di = load(path);
      const elf = new Elf32(new Uint8Array(readFileSync(path)));
      for (const label of elf.symbols().filter((s) => s.size === 0 && s.type === 0 && s.name !== "")) {
        const v = di.variables().find((x) => !x.elfOnly && x.address === label.value);
        if (!v) continue;
        expect(di.dataAt(label.value)!.variable, `${basename(path)} ${label.name}`).toBe(v);
        checked++;
      }
    }
    // stack_top (boot.S) ends where the linker put the next .bss object in these builds.
    expect(checked).toBeGreaterThan(0);
  });
});
