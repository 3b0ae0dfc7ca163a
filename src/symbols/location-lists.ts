/**
 * Location lists: where an optimised variable lives, piece by piece of its scope's code. DW_AT_location
 * points into .debug_loclists (DWARF 5, DW_FORM_loclistx or sec_offset) or .debug_loc (DWARF 2-4); each
 * entry gives an address range [low, high) and the location expression valid there. A default entry
 * (DWARF 5) applies wherever no range does.
 */
import { DW_LLE } from "./constants.js";
import type { AttrValue, Unit } from "./info.js";
import { unitBaseAddress } from "./ranges.js";
import { DwarfError } from "./reader.js";

export interface LocationListEntry {
  low: number;
  /** One past the last address. */
  high: number;
  expression: Uint8Array;
}

export interface LocationList {
  entries: LocationListEntry[];
  /** The expression for addresses no entry covers (DW_LLE_default_location), if any. */
  fallback?: Uint8Array;
}

/** Offset in .debug_loclists of list `index` of the unit's offsets table (DW_FORM_loclistx). */
function loclistxOffset(unit: Unit, index: number): number {
  const base = unit.loclistsBase ?? (unit.header.offsetSize === 8 ? 20 : 12);
  const r = unit.sections.reader(".debug_loclists", base + index * unit.header.offsetSize);
  return base + r.offsetOf(unit.header.offsetSize);
}

/** Decodes the location list a DW_AT_location attribute (not an expression block) points at. */
export function readLocationList(unit: Unit, value: AttrValue): LocationList {
  if (value.kind === "loclistx") return readLoclists(unit, loclistxOffset(unit, value.index));
  const offset = value.kind === "sec_offset" ? value.value : value.kind === "constant" && typeof value.value === "number" ? value.value : undefined;
  if (offset === undefined) throw new DwarfError(`DW_AT_location with unexpected form (${value.kind}) in the unit at 0x${unit.header.offset.toString(16)}`);
  return unit.version >= 5 ? readLoclists(unit, offset) : readDebugLoc(unit, offset);
}

function readLoclists(unit: Unit, offset: number): LocationList {
  const r = unit.sections.reader(".debug_loclists", offset);
  const size = unit.addressSize;
  let base = unitBaseAddress(unit);
  const out: LocationList = { entries: [] };
  const expr = () => r.block(r.uleb());
  for (;;) {
    const kind = r.u8();
    switch (kind) {
      case DW_LLE.end_of_list:
        return out;
      case DW_LLE.base_addressx:
        base = unit.addrx(r.uleb());
        break;
      case DW_LLE.startx_endx: {
        const low = unit.addrx(r.uleb());
        const high = unit.addrx(r.uleb());
        out.entries.push({ low, high, expression: expr() });
        break;
      }
      case DW_LLE.startx_length: {
        const low = unit.addrx(r.uleb());
        const high = low + r.uleb();
        out.entries.push({ low, high, expression: expr() });
        break;
      }
      case DW_LLE.offset_pair: {
        const a = r.uleb();
        const b = r.uleb();
        out.entries.push({ low: base + a, high: base + b, expression: expr() });
        break;
      }
      case DW_LLE.default_location:
        out.fallback = expr();
        break;
      case DW_LLE.base_address:
        base = unit.sections.relocate(r.uint(size));
        break;
      case DW_LLE.start_end: {
        const low = unit.sections.relocate(r.uint(size));
        const high = unit.sections.relocate(r.uint(size));
        out.entries.push({ low, high, expression: expr() });
        break;
      }
      case DW_LLE.start_length: {
        const low = unit.sections.relocate(r.uint(size));
        const high = low + r.uleb();
        out.entries.push({ low, high, expression: expr() });
        break;
      }
      default:
        throw new DwarfError(`.debug_loclists: unknown entry kind 0x${kind.toString(16)} at 0x${(r.offset - 1).toString(16)}`);
    }
  }
}

function readDebugLoc(unit: Unit, offset: number): LocationList {
  const r = unit.sections.reader(".debug_loc", offset);
  const size = unit.addressSize;
  if (size !== 4) throw new DwarfError(`.debug_loc: ${size}-byte addresses are not supported`);
  const max = 0xffffffff;
  let base = unitBaseAddress(unit);
  const out: LocationList = { entries: [] };
  for (;;) {
    const a = r.uint(size);
    const b = r.uint(size);
    if (a === 0 && b === 0) return out;
    if (a === max) {
      base = unit.sections.relocate(b);
      continue;
    }
    const expression = r.block(r.u16());
    out.entries.push({ low: base + a, high: base + b, expression });
  }
}

/** The expression valid at `pc`, or undefined when the variable has no location there. */
export function expressionAt(list: LocationList, pc: number): Uint8Array | undefined {
  for (const e of list.entries) if (pc >= e.low && pc < e.high) return e.expression;
  return list.fallback;
}
