/**
 * .debug_abbrev: the abbreviation tables that give each DIE its tag, whether it has children, and the
 * (attribute, form) pairs its data holds, in order. DW_FORM_implicit_const values live here, not in the DIE.
 */
import { DW_FORM } from "./constants.js";
import { ByteReader, DwarfError } from "./reader.js";

export interface AbbrevAttr {
  at: number;
  form: number;
  /** The value of a DW_FORM_implicit_const attribute (stored in the abbreviation, not in the DIE). */
  implicitConst?: number | bigint;
}

export interface Abbrev {
  code: number;
  tag: number;
  hasChildren: boolean;
  attrs: AbbrevAttr[];
}

export type AbbrevTable = Map<number, Abbrev>;

/** Parses the abbreviation table starting at `offset` of .debug_abbrev. */
export function parseAbbrevTable(section: Uint8Array, offset: number): AbbrevTable {
  if (offset >= section.length) {
    throw new DwarfError(`.debug_abbrev: table offset 0x${offset.toString(16)} is outside the section (size 0x${section.length.toString(16)})`);
  }
  const r = new ByteReader(section, ".debug_abbrev", offset);
  const table: AbbrevTable = new Map();
  for (;;) {
    const code = r.uleb();
    if (code === 0) break;
    const tag = r.uleb();
    const hasChildren = r.u8() !== 0;
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const at = r.uleb();
      const form = r.uleb();
      if (at === 0 && form === 0) break;
      if (form === DW_FORM.implicit_const) {
        // A signed LEB128 (DWARF 5, 7.5.3); kept exact when it does not fit a double.
        const v = r.slebBig();
        attrs.push({ at, form, implicitConst: v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v });
      } else attrs.push({ at, form });
    }
    if (table.has(code)) throw new DwarfError(`.debug_abbrev: code ${code} defined twice in the table at 0x${offset.toString(16)}`);
    table.set(code, { code, tag, hasChildren, attrs });
  }
  return table;
}
