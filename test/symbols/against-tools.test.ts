/**
 * The DWARF reader checked against llvm-dwarfdump and readelf on real compiler output: the fixture
 * kernels (clang 14 and gcc 12, DWARF 4 and 5), the workload guests and, once built, the demo kernel.
 * Every global's address, every struct/union member's offset, every enumerator, every function's ranges,
 * every line-table row and the line lookups in both directions must agree. Skipped when the tools are absent.
 */
import { readFileSync } from "node:fs";
import { basename, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { DebugInfo } from "../../src/symbols/debug-info.js";
import { resolveType } from "../../src/symbols/types.js";
import { DW_OP } from "../../src/symbols/constants.js";
import type { LocationList } from "../../src/symbols/location-lists.js";
import { FIXTURE_ELFS, KERNEL_ELFS, WORKLOAD_ELFS } from "./images.js";
import {
  dumpNumber, dumpString, parseDebugAddr, parseDebugInfo, parseDebugLine, parseReadelfSymbols, run, toolAvailable, walkDump,
  type DumpDie, type DumpLineRow, type DumpLineTable,
} from "./tool-output.js";

const haveTools = toolAvailable("llvm-dwarfdump") && toolAvailable("readelf");
const IMAGES = [...FIXTURE_ELFS, ...WORKLOAD_ELFS, ...KERNEL_ELFS];

/** Linker tombstones for discarded code: not real addresses. */
const tombstone = (a: number): boolean => a === 0 || a >= 0xfffffffe;

function nameOf(d: DumpDie, byOffset: Map<number, DumpDie>): string | undefined {
  let cur: DumpDie | undefined = d;
  for (let i = 0; cur && i < 8; i++) {
    const n = dumpString(cur.attrs.get("DW_AT_name"));
    if (n !== undefined) return n;
    const ref: string | undefined = cur.attrs.get("DW_AT_specification") ?? cur.attrs.get("DW_AT_abstract_origin");
    cur = ref ? byOffset.get(parseInt(ref, 16)) : undefined;
  }
  return undefined;
}

describe.skipIf(!haveTools || IMAGES.length === 0)("DWARF reader agrees with llvm-dwarfdump and readelf", () => {
  for (const path of IMAGES) {
    describe(basename(path), () => {
      const di = DebugInfo.fromElf(new Uint8Array(readFileSync(path)), { strict: true });
      const roots = parseDebugInfo(run("llvm-dwarfdump", ["--debug-info", path]));
      const all = [...walkDump(roots)];
      const byOffset = new Map(all.map((d) => [d.offset, d]));
      const addrTables = parseDebugAddr(run("llvm-dwarfdump", ["--debug-addr", path]));
      const lineTables = parseDebugLine(run("llvm-dwarfdump", ["--debug-line", path]));
      const symbols = parseReadelfSymbols(run("readelf", ["-sW", path]));
      const rootOf = (d: DumpDie): DumpDie => {
        let r = d;
        while (r.parent) r = r.parent;
        return r;
      };

      it("reads every local's location list as llvm-dwarfdump does: ranges and first operation", () => {
        const opName = (b: number): string => {
          if (b >= 0x50 && b <= 0x6f) return `DW_OP_reg${b - 0x50}`;
          if (b >= 0x70 && b <= 0x8f) return `DW_OP_breg${b - 0x70}`;
          if (b >= 0x30 && b <= 0x4f) return `DW_OP_lit${b - 0x30}`;
          const name = Object.entries(DW_OP).find(([, v]) => v === b)?.[0];
          return name ? `DW_OP_${name}` : `0x${b.toString(16)}`;
        };
        // Empty entries ([a, a), gcc writes them for code that was optimised away) never apply: left out.
        const key = (name: string, entries: { low: number; high: number; op: string }[]) =>
          `${name} ${entries.filter((e) => e.high > e.low).map((e) => `[${e.low.toString(16)},${e.high.toString(16)}):${e.op}`).join(" ")}`;
        // Locals of out-of-line functions (a concrete subprogram with code above them), not of abstract ones.
        const concrete = (d: DumpDie): boolean => {
          for (let p = d.parent; p; p = p.parent) {
            if (p.tag === "DW_TAG_subprogram") return p.attrs.has("DW_AT_low_pc") || p.attrs.has("DW_AT_ranges");
          }
          return false;
        };
        const expected = all
          .filter((d) => (d.tag === "DW_TAG_variable" || d.tag === "DW_TAG_formal_parameter") && d.locations.length > 0 && concrete(d))
          .map((d) => key(nameOf(d, byOffset) ?? "?", d.locations.map((l) => ({ low: l.low, high: l.high, op: l.ops.split(/[ ,]/)[0] }))))
          .filter((k) => k.includes("["))
          .sort();
        const ours = di.allLocals()
          .filter((l) => l.location !== undefined && "list" in l.location && l.location.list.entries.length > 0)
          .map((l) => key(l.name, (l.location as { list: LocationList }).list.entries.map((e) => ({ low: e.low, high: e.high, op: opName(e.expression[0]) }))))
          .filter((k) => k.includes("["))
          .sort();
        // Where the image has location lists the comparison is not vacuous.
        if (all.some((d) => d.locations.some((l) => l.high > l.low))) expect(ours.length).toBeGreaterThan(0);
        expect(ours).toEqual(expected);
      });

      it("loads without warnings", () => {
        expect(di.warnings).toEqual([]);
        expect(di.units.length).toBe(roots.length);
      });

      it("finds every global and static variable at llvm-dwarfdump's address, matching readelf's symbols", () => {
        const expected: string[] = [];
        for (const d of all) {
          if (d.tag !== "DW_TAG_variable") continue;
          const loc = d.attrs.get("DW_AT_location") ?? "";
          let address: number | undefined;
          let m = /^DW_OP_addr (0x[0-9a-f]+)$/.exec(loc);
          if (m) address = parseInt(m[1], 16);
          m = /^DW_OP_addrx (0x[0-9a-f]+)$/.exec(loc);
          if (m) {
            const base = dumpNumber(rootOf(d).attrs.get("DW_AT_addr_base")) ?? 8;
            address = addrTables.get(base)![parseInt(m[1], 16)];
          }
          if (address === undefined) continue;
          expected.push(`${nameOf(d, byOffset)}@0x${address.toString(16)}`);
        }
        const actual = di.variables().filter((v) => !v.elfOnly && v.address !== undefined).map((v) => `${v.name}@0x${v.address!.toString(16)}`);
        expect(actual.sort()).toEqual(expected.sort());
        expect(expected.length).toBeGreaterThan(0);
        // readelf: each one has an object symbol at that address (gcc and clang rename function statics).
        for (const v of di.variables().filter((x) => !x.elfOnly && x.address !== undefined)) {
          const s = symbols.filter((x) => x.value === v.address && x.type === "OBJECT");
          expect(s.map((x) => x.name).some((n) => n === v.name || n.startsWith(v.name + ".") || n.endsWith("." + v.name)), `${v.name} in readelf`).toBe(true);
        }
      });

      it("gives every struct and union member llvm-dwarfdump's offset", () => {
        let checked = 0;
        for (const d of all) {
          if (d.tag !== "DW_TAG_structure_type" && d.tag !== "DW_TAG_union_type") continue;
          if (d.attrs.has("DW_AT_declaration")) continue;
          const die = di.dieAt(d.offset);
          expect(die, `DIE 0x${d.offset.toString(16)}`).toBeDefined();
          const t = resolveType(di.typeOfDie(die!));
          if (t.kind !== "struct" && t.kind !== "union") throw new Error(`0x${d.offset.toString(16)} is not a struct`);
          expect(t.size).toBe(dumpNumber(d.attrs.get("DW_AT_byte_size")));
          const members = d.children.filter((c) => c.tag === "DW_TAG_member");
          const expected = members.map((m) => {
            const name = dumpString(m.attrs.get("DW_AT_name"));
            const dml = dumpNumber(m.attrs.get("DW_AT_data_member_location")) ?? 0;
            const bitSize = dumpNumber(m.attrs.get("DW_AT_bit_size"));
            if (bitSize === undefined) return { name, offset: dml };
            const dbo = dumpNumber(m.attrs.get("DW_AT_data_bit_offset"));
            // DWARF 2/3 bit_offset counts from the storage unit's most significant bit (little-endian target).
            const bitOffset = dbo !== undefined ? dml * 8 + dbo
              : dml * 8 + dumpNumber(m.attrs.get("DW_AT_byte_size"))! * 8 - dumpNumber(m.attrs.get("DW_AT_bit_offset"))! - bitSize;
            return { name, bitOffset, bitSize };
          });
          const actual = t.members.map((m) => (m.bitSize === undefined ? { name: m.name, offset: m.offset } : { name: m.name, bitOffset: m.bitOffset, bitSize: m.bitSize }));
          expect(actual, `members of DIE 0x${d.offset.toString(16)}`).toEqual(expected);
          checked += members.length;
        }
        // The fixtures are built to have structs; the workload guests have none.
        if (FIXTURE_ELFS.includes(path)) expect(checked).toBeGreaterThan(0);
      });

      it("reads every enumerator with llvm-dwarfdump's value", () => {
        for (const d of all) {
          if (d.tag !== "DW_TAG_enumeration_type") continue;
          const t = resolveType(di.typeOfDie(di.dieAt(d.offset)!));
          if (t.kind !== "enum") throw new Error("not an enum");
          const expected = d.children.filter((c) => c.tag === "DW_TAG_enumerator")
            .map((c) => ({ name: dumpString(c.attrs.get("DW_AT_name"))!, value: BigInt(dumpNumber(c.attrs.get("DW_AT_const_value"))!) }));
          expect(t.enumerators).toEqual(expected);
          for (const e of expected) expect(di.enumeratorsNamed(e.name).map((x) => x.value)).toContain(e.value);
        }
      });

      it("gives every function llvm-dwarfdump's address ranges and readelf's entry", () => {
        const expected: string[] = [];
        for (const d of all) {
          if (d.tag !== "DW_TAG_subprogram") continue;
          let ranges: [number, number][] = [];
          const low = dumpNumber(d.attrs.get("DW_AT_low_pc"));
          const high = d.attrs.get("DW_AT_high_pc");
          if (low !== undefined && high !== undefined) ranges = [[low, dumpNumber(high)!]];
          else if (d.ranges.length) ranges = d.ranges;
          ranges = ranges.filter(([l, h]) => h > l && !tombstone(l));
          if (ranges.length === 0) continue;
          expected.push(`${nameOf(d, byOffset)} ${ranges.map(([l, h]) => `${l.toString(16)}-${h.toString(16)}`).join(",")}`);
        }
        const actual = di.functions().filter((f) => !f.elfOnly).map((f) => `${f.name} ${f.ranges.map((r) => `${r.low.toString(16)}-${r.high.toString(16)}`).join(",")}`);
        expect(actual.sort()).toEqual(expected.sort());
        for (const f of di.functions().filter((x) => !x.elfOnly)) {
          const sym = symbols.find((s) => s.type === "FUNC" && s.name === f.name);
          if (sym) expect(f.entry, f.name).toBe(sym.value);
          expect(di.functionAt(f.entry)?.function.name).toBe(f.name);
        }
      });

      // ---- line tables ----

      const compDirOf = new Map<number, string>();
      for (const r of roots) {
        const stmt = dumpNumber(r.attrs.get("DW_AT_stmt_list"));
        if (stmt !== undefined) compDirOf.set(stmt, dumpString(r.attrs.get("DW_AT_comp_dir")) ?? "");
      }
      const fullPath = (t: DumpLineTable, file: number): string => {
        const f = t.files.get(file)!;
        const comp = compDirOf.get(t.offset) ?? "";
        const dir0 = t.version >= 5 ? t.includeDirs.get(0) ?? comp : comp;
        let dir = f.dirIndex === 0 ? dir0 : t.includeDirs.get(f.dirIndex)!;
        if (f.dirIndex !== 0 && !dir.startsWith("/")) dir = posix.join(dir0, dir);
        return f.name.startsWith("/") ? f.name : posix.join(dir, f.name);
      };
      /** Dump rows split into sequences. */
      const sequences: { table: DumpLineTable; rows: DumpLineRow[] }[] = [];
      for (const t of lineTables) {
        let rows: DumpLineRow[] = [];
        for (const r of t.rows) {
          rows.push(r);
          if (r.flags.has("end_sequence")) {
            sequences.push({ table: t, rows });
            rows = [];
          }
        }
      }

      it("decodes every line-table row and file entry as llvm-dwarfdump does", () => {
        expect(lineTables.length).toBeGreaterThan(0);
        for (const t of lineTables) {
          const mine = di.units.map((u) => u.lineTable).find((lt) => lt?.offset === t.offset);
          expect(mine, `line table 0x${t.offset.toString(16)}`).toBeDefined();
          for (const [i, f] of t.files) {
            expect(mine!.files[i]?.name).toBe(f.name);
            expect(mine!.files[i]?.dirIndex).toBe(f.dirIndex);
            expect(mine!.files[i]?.path).toBe(fullPath(t, i));
          }
          const rows = mine!.sequences.flatMap((s) => s.rows).map((r) => ({
            address: r.address, line: r.line, column: r.column, file: r.file, isa: r.isa, discriminator: r.discriminator,
            flags: [r.isStmt && "is_stmt", r.basicBlock && "basic_block", r.endSequence && "end_sequence", r.prologueEnd && "prologue_end", r.epilogueBegin && "epilogue_begin"].filter(Boolean).sort(),
          }));
          expect(rows).toEqual(t.rows.map((r) => ({ ...r, flags: [...r.flags].sort() })));
        }
      });

      it("maps every address a row starts, and the byte after it, to the row llvm-dwarfdump's table gives", () => {
        let checked = 0;
        for (const { table, rows } of sequences) {
          if (tombstone(rows[0].address)) continue;
          const end = rows[rows.length - 1].address;
          for (const probe of rows.slice(0, -1).flatMap((r) => [r.address, r.address + 1])) {
            if (probe >= end) continue;
            // The last row at or below the address (llvm's lookup rule).
            let want: DumpLineRow | undefined;
            for (const r of rows.slice(0, -1)) if (r.address <= probe) want = r;
            const got = di.sourceAt(probe);
            expect(got, `0x${probe.toString(16)}`).toBeDefined();
            expect([got!.file, got!.line, got!.column]).toEqual([fullPath(table, want!.file), want!.line, want!.column]);
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(0);
      });

      it("maps every file:line to the addresses of its is_stmt rows", () => {
        const want = new Map<string, Set<number>>();
        for (const { table, rows } of sequences) {
          if (tombstone(rows[0].address)) continue;
          for (const r of rows) {
            if (!r.flags.has("is_stmt") || r.flags.has("end_sequence")) continue;
            const key = `${fullPath(table, r.file)}:${r.line}`;
            if (!want.has(key)) want.set(key, new Set());
            want.get(key)!.add(r.address);
          }
        }
        for (const [key, addrs] of want) {
          const i = key.lastIndexOf(":");
          expect(di.addressesForLine(key.slice(0, i), Number(key.slice(i + 1))), key).toEqual([...addrs].sort((a, b) => a - b));
        }
      });

      it("agrees with llvm-dwarfdump --lookup on function entries and midpoints", () => {
        const probes = di.functions().filter((f) => !f.elfOnly).slice(0, 6)
          .flatMap((f) => [f.entry, f.ranges[0].low + ((f.ranges[0].high - f.ranges[0].low) >> 1)]);
        for (const a of probes) {
          const out = run("llvm-dwarfdump", [`--lookup=0x${a.toString(16)}`, path]);
          const m = /Line info: file '([^']*)', line (\d+), column (\d+)/.exec(out);
          const got = di.sourceAt(a);
          if (!m) {
            expect(got).toBeUndefined();
            continue;
          }
          expect([basename(got!.file), got!.line, got!.column], `0x${a.toString(16)}`).toEqual([basename(m[1]), Number(m[2]), Number(m[3])]);
        }
      });
    });
  }
});
