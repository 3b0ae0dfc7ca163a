/**
 * Address range lists: DW_AT_ranges through .debug_rnglists (DWARF 5, DW_FORM_sec_offset or rnglistx)
 * or .debug_ranges (DWARF 2-4), and the low_pc/high_pc pair of a DIE. Ranges are half-open [low, high).
 */
import { DW_AT, DW_RLE } from "./constants.js";
import type { AttrValue, Die, Unit } from "./info.js";
import { DwarfError } from "./reader.js";

export interface AddressRange {
  low: number;
  /** One past the last address. */
  high: number;
}

/** The unit's base address for range and location lists: the root DIE's DW_AT_low_pc, or 0. */
export function unitBaseAddress(unit: Unit): number {
  return unit.address(unit.root.attrs.get(DW_AT.low_pc)) ?? 0;
}

/** Offset in .debug_rnglists of list `index` of the unit's offsets table (DW_FORM_rnglistx). */
function rnglistxOffset(unit: Unit, index: number): number {
  const base = unit.rnglistsBase ?? (unit.header.offsetSize === 8 ? 20 : 12);
  const r = unit.sections.reader(".debug_rnglists", base + index * unit.header.offsetSize);
  return base + r.offsetOf(unit.header.offsetSize);
}

/** Decodes the range list an attribute (DW_AT_ranges) points at. */
export function readRanges(unit: Unit, value: AttrValue): AddressRange[] {
  if (value.kind === "rnglistx") return readRnglist(unit, rnglistxOffset(unit, value.index));
  const offset = value.kind === "sec_offset" ? value.value : value.kind === "constant" && typeof value.value === "number" ? value.value : undefined;
  if (offset === undefined) throw new DwarfError(`DW_AT_ranges with unexpected form (${value.kind}) in the unit at 0x${unit.header.offset.toString(16)}`);
  if (unit.version >= 5) return readRnglist(unit, offset);
  // DWARF 4 offsets are relative to the unit's DW_AT_rnglists_base only in GNU split DWARF.
  return readDebugRanges(unit, offset + (unit.rnglistsBase ?? 0));
}

function readRnglist(unit: Unit, offset: number): AddressRange[] {
  const r = unit.sections.reader(".debug_rnglists", offset);
  const size = unit.addressSize;
  let base = unitBaseAddress(unit);
  const out: AddressRange[] = [];
  for (;;) {
    const kind = r.u8();
    switch (kind) {
      case DW_RLE.end_of_list:
        return out;
      case DW_RLE.base_addressx:
        base = unit.addrx(r.uleb());
        break;
      case DW_RLE.startx_endx: {
        const low = unit.addrx(r.uleb());
        out.push({ low, high: unit.addrx(r.uleb()) });
        break;
      }
      case DW_RLE.startx_length: {
        const low = unit.addrx(r.uleb());
        out.push({ low, high: low + r.uleb() });
        break;
      }
      case DW_RLE.offset_pair: {
        const a = r.uleb();
        const b = r.uleb();
        out.push({ low: base + a, high: base + b });
        break;
      }
      case DW_RLE.base_address:
        base = unit.sections.relocate(r.uint(size));
        break;
      case DW_RLE.start_end: {
        const low = unit.sections.relocate(r.uint(size));
        out.push({ low, high: unit.sections.relocate(r.uint(size)) });
        break;
      }
      case DW_RLE.start_length: {
        const low = unit.sections.relocate(r.uint(size));
        out.push({ low, high: low + r.uleb() });
        break;
      }
      default:
        throw new DwarfError(`.debug_rnglists: unknown entry kind 0x${kind.toString(16)} at 0x${(r.offset - 1).toString(16)}`);
    }
  }
}

function readDebugRanges(unit: Unit, offset: number): AddressRange[] {
  const r = unit.sections.reader(".debug_ranges", offset);
  const size = unit.addressSize;
  const max = size === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (size * 8) - 1;
  let base = unitBaseAddress(unit);
  const out: AddressRange[] = [];
  for (;;) {
    const a = size === 8 ? Math.min(r.u64n(), max) : r.uint(size);
    const b = size === 8 ? Math.min(r.u64n(), max) : r.uint(size);
    if (a === 0 && b === 0) return out;
    if (a === max) base = unit.sections.relocate(b);
    else out.push({ low: base + a, high: base + b });
  }
}

/**
 * The address ranges a DIE covers: DW_AT_ranges, or DW_AT_low_pc with DW_AT_high_pc (an address, or
 * since DWARF 4 a length when its form is a constant). Empty when the DIE has no code.
 */
export function dieRanges(die: Die): AddressRange[] {
  const unit = die.unit;
  const ranges = die.attrs.get(DW_AT.ranges);
  if (ranges) return readRanges(unit, ranges).filter((x) => x.high > x.low);
  const low = unit.address(die.attrs.get(DW_AT.low_pc));
  if (low === undefined) return [];
  const hv = die.attrs.get(DW_AT.high_pc);
  if (!hv) return [{ low, high: low + 1 }];
  let high: number | undefined;
  if (hv.kind === "constant" && typeof hv.value === "number") high = low + hv.value;
  else high = unit.address(hv);
  if (high === undefined || high <= low) return [];
  return [{ low, high }];
}
