/**
 * Call frame information (.debug_frame, .eh_frame): for a code address, how to compute the Canonical
 * Frame Address (CFA), the value ESP had at the call site before the call. gcc describes every
 * function's frame base as DW_OP_call_frame_cfa, so its locals (DW_OP_fbreg) need this. Only the CFA
 * rule is tracked (register + offset); the rules for saved registers are not (no unwinding here).
 */
import type { Elf32 } from "../elf/elf32.js";
import { ByteReader, DwarfError } from "./reader.js";

/** CFA = value of DWARF register `register` + `offset`. */
export interface CfaRule {
  register: number;
  offset: number;
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  /** DW_EH_PE encoding of FDE addresses (.eh_frame 'R' augmentation); absptr otherwise. */
  pointerEncoding: number;
  hasAugmentationData: boolean;
  initialInstructions: Uint8Array;
}

interface Fde {
  low: number;
  high: number;
  cie: Cie;
  instructions: Uint8Array;
}

// DW_EH_PE pointer encodings (the low nibble: format; the high: how it is applied).
const PE_OMIT = 0xff;
const PE_ABSPTR = 0x00, PE_ULEB = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_SLEB = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b;
const PE_PCREL = 0x10;

export class CallFrames {
  private readonly fdes: Fde[] = [];
  /** Problems met while reading (a malformed entry is skipped, not fatal). */
  readonly warnings: string[] = [];

  /** `slide`: how far the code ran from where it was linked (DebugInfo's LoadOptions.slide). */
  constructor(elf: Elf32, private readonly slide = 0) {
    for (const name of [".debug_frame", ".eh_frame"]) {
      const sec = elf.section(name);
      if (sec === undefined || sec.size === 0) continue;
      try {
        this.readSection(elf.sectionData(sec), name === ".eh_frame", sec.addr);
      } catch (e) {
        if (!(e instanceof DwarfError)) throw e;
        this.warnings.push(`${name}: ${e.message}`);
      }
    }
    this.fdes.sort((a, b) => a.low - b.low);
  }

  /** Whether any function's frames are described. */
  get empty(): boolean {
    return this.fdes.length === 0;
  }

  /** The CFA rule in effect at `pc`, or undefined (no FDE covers it, or the CFA is an expression). */
  cfaRuleAt(ranAt: number): CfaRule | undefined {
    // The entries hold linked addresses; the rules are relative to them, so they are run there.
    const pc = (ranAt - this.slide) >>> 0;
    const fde = this.fdes.find((f) => pc >= f.low && pc < f.high);
    if (fde === undefined) return undefined;
    return runProgram(fde, pc);
  }

  private readSection(bytes: Uint8Array, eh: boolean, sectionAddress: number): void {
    const name = eh ? ".eh_frame" : ".debug_frame";
    const cies = new Map<number, Cie>();
    const r = new ByteReader(bytes, name);
    while (r.offset + 4 <= bytes.length) {
      const start = r.offset;
      const length = r.u32();
      if (length === 0) {
        if (eh) break; // .eh_frame's terminator
        continue;
      }
      if (length === 0xffffffff) throw new DwarfError(`64-bit entry at 0x${start.toString(16)} is not supported`);
      const end = r.offset + length;
      if (end > bytes.length) throw new DwarfError(`entry at 0x${start.toString(16)} runs past the section's end`);
      const idOffset = r.offset;
      const id = r.u32();
      const isCie = eh ? id === 0 : id === 0xffffffff;
      if (isCie) {
        cies.set(start, readCie(r, end, eh));
      } else {
        const ciePos = eh ? idOffset - id : id;
        let cie = cies.get(ciePos);
        if (cie === undefined) {
          // A CIE after its FDE: read it where it is.
          const cr = new ByteReader(bytes, name, ciePos);
          const cl = cr.u32();
          cr.u32();
          cie = readCie(cr, ciePos + 4 + cl, eh);
          cies.set(ciePos, cie);
        }
        const enc = cie.pointerEncoding;
        const low = readPointer(r, enc, sectionAddress + r.offset);
        const range = readPointer(r, enc & 0x0f, 0);
        if (cie.hasAugmentationData) r.offset += r.uleb();
        this.fdes.push({ low, high: low + range, cie, instructions: bytes.subarray(r.offset, end) });
      }
      r.offset = end;
    }
  }
}

function readCie(r: ByteReader, end: number, eh: boolean): Cie {
  const version = r.u8();
  const augmentation = r.cstring();
  if (!eh && version >= 4) {
    r.u8(); // address size
    r.u8(); // segment selector size
  }
  const codeAlign = r.uleb();
  const dataAlign = r.sleb();
  if (version === 1) r.u8();
  else r.uleb(); // return address register
  let pointerEncoding = PE_ABSPTR;
  const hasAugmentationData = augmentation.startsWith("z");
  if (hasAugmentationData) {
    const len = r.uleb();
    const dataEnd = r.offset + len;
    for (const c of augmentation.slice(1)) {
      if (c === "R") pointerEncoding = r.u8();
      else if (c === "P") {
        const e = r.u8();
        readPointer(r, e & 0x0f, 0);
      } else if (c === "L") r.u8();
    }
    r.offset = dataEnd;
  } else if (augmentation !== "") {
    throw new DwarfError(`CIE augmentation "${augmentation}" is not understood`);
  }
  return { codeAlign, dataAlign, pointerEncoding, hasAugmentationData, initialInstructions: r.block(end - r.offset) };
}

/** A pointer in DW_EH_PE `encoding`; `here` is the address of the field (for pc-relative ones). */
function readPointer(r: ByteReader, encoding: number, here: number): number {
  if (encoding === PE_OMIT) return 0;
  let v: number;
  switch (encoding & 0x0f) {
    case PE_ABSPTR: case PE_UDATA4: v = r.u32(); break;
    case PE_SDATA4: v = r.i32(); break;
    case PE_UDATA2: v = r.u16(); break;
    case PE_SDATA2: v = r.i16(); break;
    case PE_ULEB: v = r.uleb(); break;
    case PE_SLEB: v = r.sleb(); break;
    default: throw new DwarfError(`pointer encoding 0x${encoding.toString(16)} is not supported`);
  }
  if ((encoding & 0x70) === PE_PCREL) v += here;
  else if ((encoding & 0x70) !== 0) throw new DwarfError(`pointer application 0x${(encoding & 0x70).toString(16)} is not supported`);
  return v >>> 0;
}

/** Runs the CIE's and then the FDE's instructions up to `pc`: the CFA rule there. */
function runProgram(fde: Fde, pc: number): CfaRule | undefined {
  const cie = fde.cie;
  let rule: CfaRule | undefined = undefined;
  const saved: (CfaRule | undefined)[] = [];
  let loc = fde.low;
  const run = (code: Uint8Array): boolean => {
    const r = new ByteReader(code, "call frame instructions");
    // Returns false once the location passes pc: the rule then in effect is the answer.
    const advance = (delta: number): boolean => {
      const next = loc + delta * cie.codeAlign;
      if (next > pc) return false;
      loc = next;
      return true;
    };
    while (!r.atEnd()) {
      const op = r.u8();
      const high = op & 0xc0, low = op & 0x3f;
      if (high === 0x40) {
        if (!advance(low)) return false;
        continue;
      }
      if (high === 0x80) {
        r.uleb(); // DW_CFA_offset: a saved register
        continue;
      }
      if (high === 0xc0) continue; // DW_CFA_restore
      switch (op) {
        case 0x00: break; // nop
        case 0x01: { // set_loc
          const next = r.u32();
          if (next > pc) return false;
          loc = next;
          break;
        }
        case 0x02: if (!advance(r.u8())) return false; break;
        case 0x03: if (!advance(r.u16())) return false; break;
        case 0x04: if (!advance(r.u32())) return false; break;
        case 0x05: r.uleb(); r.uleb(); break; // offset_extended
        case 0x06: case 0x07: case 0x08: r.uleb(); break; // restore_extended, undefined, same_value
        case 0x09: r.uleb(); r.uleb(); break; // register
        case 0x0a: saved.push(rule === undefined ? undefined : { ...rule }); break; // remember_state
        case 0x0b: rule = saved.pop(); break; // restore_state
        case 0x0c: rule = { register: r.uleb(), offset: r.uleb() }; break; // def_cfa
        case 0x0d: rule = { register: r.uleb(), offset: rule?.offset ?? 0 }; break; // def_cfa_register
        case 0x0e: if (rule !== undefined) rule = { ...rule, offset: r.uleb() }; else r.uleb(); break; // def_cfa_offset
        case 0x0f: r.offset += r.uleb(); rule = undefined; break; // def_cfa_expression: not followed
        case 0x10: r.uleb(); r.offset += r.uleb(); break; // expression
        case 0x11: r.uleb(); r.sleb(); break; // offset_extended_sf
        case 0x12: rule = { register: r.uleb(), offset: r.sleb() * cie.dataAlign }; break; // def_cfa_sf
        case 0x13: { // def_cfa_offset_sf
          const off = r.sleb() * cie.dataAlign;
          if (rule !== undefined) rule = { ...rule, offset: off };
          break;
        }
        case 0x14: r.uleb(); r.uleb(); break; // val_offset
        case 0x15: r.uleb(); r.sleb(); break; // val_offset_sf
        case 0x16: r.uleb(); r.offset += r.uleb(); break; // val_expression
        case 0x2e: r.uleb(); break; // GNU_args_size
        case 0x2f: r.uleb(); r.uleb(); break; // GNU_negative_offset_extended
        default: throw new DwarfError(`call frame instruction 0x${op.toString(16)} is not supported`);
      }
    }
    return true;
  };
  try {
    if (run(cie.initialInstructions)) run(fde.instructions);
  } catch (e) {
    if (e instanceof DwarfError) return undefined;
    throw e;
  }
  return rule;
}
