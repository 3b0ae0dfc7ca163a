/**
 * Loading through the index (DwarfIndex, as large images such as a vmlinux are loaded) answers every
 * lookup the way parsing the whole image does, on every fixture, workload guest and demo kernel: each
 * global's address, type and size, each function by name and by address, the source line at each
 * function's entry and inside it, the addresses of each file:line, each type by name, each enumerator. The index also survives its JSON
 * form (the cached copy) unchanged. The Debian vmlinux itself is tested in test/linux/vmlinux-symbols.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { describe, expect, test } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { DwarfIndex } from "../../src/symbols/dwarf-index.js";
import { DwarfSections } from "../../src/symbols/sections.js";
import { Elf32 } from "../../src/elf/elf32.js";
import { typeName } from "../../src/symbols/types.js";
import { lineTableMd5s } from "../../src/bundle/sources.js";
import { FIXTURE_ELFS, KERNEL_ELFS, WORKLOAD_ELFS } from "./images.js";

const IMAGES = [...FIXTURE_ELFS, ...WORKLOAD_ELFS, ...KERNEL_ELFS];

describe.each(IMAGES.map((p) => [basename(p), p]))("%s: loaded through the index", (_name, path) => {
  const bytes = new Uint8Array(readFileSync(path));
  const whole = DebugInfo.fromElf(bytes);
  const index = DwarfIndex.build(DwarfSections.fromElf(new Elf32(bytes)));
  /** A fresh lazy load per test, so each lookup starts from nothing loaded. */
  const lazy = () => DebugInfo.fromElf(bytes, { index });

  test("the index's JSON form reads back equal", () => {
    expect(DwarfIndex.fromJson(index.toJson())!.data).toEqual(index.data);
    expect(DwarfIndex.fromJson(JSON.stringify({ ...index.data, version: -1 }))).toBeNull();
    expect(DwarfIndex.fromJson("{")).toBeNull();
  });

  test("globals: the same variable (address, type, size) by name and by address", () => {
    const globals = whole.variables().filter((v) => !v.elfOnly && v.address !== undefined && v.scope === undefined);
    expect(globals.length).toBeGreaterThan(0);
    for (const v of globals) {
      const want = whole.variable(v.name)!;
      const got = lazy().variable(v.name);
      expect(got, v.name).toBeDefined();
      expect({ name: got!.name, address: got!.address, size: got!.size, type: typeName(got!.type) }, v.name)
        .toEqual({ name: want.name, address: want.address, size: want.size, type: typeName(want.type) });
      const at = lazy().dataAt(want.address!);
      expect(at?.path, `dataAt 0x${want.address!.toString(16)}`).toBe(whole.dataAt(want.address!)?.path);
    }
  });

  test("functions: by name and by address, with the source line at the entry and inside", () => {
    const fns = whole.functions().filter((f) => !f.elfOnly);
    expect(fns.length).toBeGreaterThan(0);
    for (const f of fns) {
      expect(lazy().functionNamed(f.name)?.entry, f.name).toBe(whole.functionNamed(f.name)!.entry);
      for (const a of [f.entry, f.ranges[0].high - 1]) {
        const l = lazy();
        expect(l.symbolize(a), `0x${a.toString(16)}`).toBe(whole.symbolize(a));
        expect(l.sourceAt(a), `0x${a.toString(16)}`).toEqual(whole.sourceAt(a));
      }
    }
  });

  test("file:line: the addresses of every line with code, by path and by bare name, from nothing loaded", () => {
    const lines = new Map<string, Set<number>>();
    for (const t of whole.lines.tables) {
      for (const seq of t.sequences) for (const row of seq.rows) if (row.isStmt && !row.endSequence && t.files[row.file]) {
        const file = t.files[row.file]!.path;
        if (!lines.has(file)) lines.set(file, new Set());
        lines.get(file)!.add(row.line);
      }
    }
    expect(lines.size).toBeGreaterThan(0);
    for (const [file, set] of lines) {
      for (const line of set) {
        for (const name of [file, basename(file)]) {
          expect(lazy().addressesForLine(name, line), `${name}:${line}`).toEqual(whole.addressesForLine(name, line));
        }
      }
    }
  });

  test("a source file's MD5 (what shown sources are checked against) once a question loaded its unit", () => {
    const want = lineTableMd5s(whole);
    let known = 0;
    for (const f of whole.functions().filter((x) => !x.elfOnly)) {
      const l = lazy();
      const md5s = lineTableMd5s(l);
      const file = l.sourceAt(f.entry)?.file;
      if (file === undefined) continue;
      expect(md5s(file), file).toBe(want(file));
      if (want(file) !== undefined) known++;
    }
    // DWARF 5 line tables (clang's) carry MD5s; older ones none.
    if (whole.lines.tables.some((t) => t.files.some((x) => x?.md5 !== undefined))) expect(known).toBeGreaterThan(0);
  });

  test("types and enumerators by name", () => {
    for (const name of whole.typeNames()) {
      const want = whole.findType(name)!;
      const got = lazy().findType(name);
      expect(got && typeName(got), name).toBe(typeName(want));
      expect(got!.kind === "struct" ? got!.members.map((m) => [m.name, m.offset]) : null, name)
        .toEqual(want.kind === "struct" ? want.members.map((m) => [m.name, m.offset]) : null);
    }
    // Every enumerator the whole load knows, through one lazy load.
    const l = lazy();
    for (const e of enumeratorNames(whole)) expect(l.enumerator(e)?.value, e).toBe(whole.enumerator(e)!.value);
  });
});

/** Every enumerator of the enum types `di` names. */
function enumeratorNames(di: DebugInfo): string[] {
  const out: string[] = [];
  for (const name of di.typeNames()) {
    const t = di.findType(name);
    if (t?.kind === "enum") for (const e of t.enumerators) out.push(e.name);
  }
  return out;
}
