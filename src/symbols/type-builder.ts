/**
 * Builds the C type model (types.ts) from DWARF type DIEs, caching one object per DIE so cyclic types
 * (a struct holding a pointer to itself) resolve to the same objects. Member offsets come from
 * DW_AT_data_member_location as a constant or a location expression; bitfields from DW_AT_data_bit_offset
 * (DWARF 4+) or DW_AT_bit_offset with DW_AT_byte_size (DWARF 2/3 style, still emitted by gcc for -gdwarf-4).
 */
import { DW_AT, DW_ATE, DW_FORM, DW_TAG } from "./constants.js";
import type { AttrValue, Die } from "./info.js";
import { evaluateStaticExpression } from "./dwarf-expr.js";
import { DwarfError } from "./reader.js";
import {
  VOID, resolveType, sizeOf,
  type ArrayType, type BaseType, type CType, type EnumType, type FunctionType, type Member, type StructType,
} from "./types.js";

export type DieResolver = (offset: number) => Die | undefined;
export type SignatureResolver = (signature: bigint) => Die | undefined;

/** The integer type a constant attribute's value belongs to: its signedness and size in bytes. */
export interface ConstantType {
  signed: boolean;
  size: number;
}

/**
 * A constant attribute as a bigint. DW_FORM_sdata and DW_FORM_implicit_const carry their sign and
 * DW_FORM_udata is unsigned; DW_FORM_data1/2/4/8 are only bits, whose meaning the attribute gives
 * (DWARF 5, 7.5.5). With `as`, those bits are a value of that type (gdb reads them so too): a signed
 * 4-byte type takes data4 0xffffffff as -1, and data1 0xc8 as 200, since gcc writes every non-negative
 * value, even of a signed type, in the smallest unsigned form. Without `as`, data<n> is unsigned: sizes,
 * counts, offsets, line numbers and languages are never negative.
 */
export function constantValue(v: AttrValue | undefined, as?: ConstantType): bigint | undefined {
  if (!v || v.kind !== "constant") {
    if (v && v.kind === "block" && v.bytes.length <= 8) {
      // DW_FORM_block const_value: little-endian bytes.
      let x = 0n;
      for (let i = v.bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(v.bytes[i]);
      return x;
    }
    return undefined;
  }
  const x = BigInt(v.value);
  const fixedSize = v.form === DW_FORM.data1 || v.form === DW_FORM.data2 || v.form === DW_FORM.data4 || v.form === DW_FORM.data8;
  if (!fixedSize || as === undefined || as.size <= 0) return x;
  return as.signed ? BigInt.asIntN(as.size * 8, x) : BigInt.asUintN(as.size * 8, x);
}

/** A constant attribute as a number, or undefined. */
export function constantNumber(v: AttrValue | undefined): number | undefined {
  if (!v || v.kind !== "constant") return undefined;
  return Number(v.value);
}

export class TypeBuilder {
  private readonly cache = new Map<number, CType>();

  constructor(private readonly dieAt: DieResolver, private readonly dieBySignature: SignatureResolver = () => undefined) {}

  /** The type a DIE's DW_AT_type names (void when it has none). */
  typeOf(die: Die): CType {
    const ref = die.attrs.get(DW_AT.type);
    if (!ref) return VOID;
    const target = this.refDie(ref, die);
    return target ? this.build(target) : VOID;
  }

  /** The DIE an attribute of reference class points at. */
  refDie(v: AttrValue, from: Die): Die | undefined {
    if (v.kind === "ref") {
      const d = this.dieAt(v.offset);
      if (!d) throw new DwarfError(`DIE at 0x${from.offset.toString(16)} refers to 0x${v.offset.toString(16)}, where no DIE starts`);
      return d;
    }
    if (v.kind === "ref_sig8") return this.dieBySignature(v.signature);
    return undefined;
  }

  /** The type a type DIE describes. */
  build(die: Die): CType {
    const cached = this.cache.get(die.offset);
    if (cached) return cached;
    const u = die.unit;
    const name = u.string(die.attrs.get(DW_AT.name));
    const byteSize = constantNumber(die.attrs.get(DW_AT.byte_size));
    switch (die.tag) {
      case DW_TAG.base_type: {
        const enc = constantNumber(die.attrs.get(DW_AT.encoding)) ?? DW_ATE.signed;
        const t: BaseType = {
          kind: "base", name: name ?? "<base>", size: byteSize ?? 0, encoding: enc,
          signed: enc === DW_ATE.signed || enc === DW_ATE.signed_char,
          float: enc === DW_ATE.float || enc === DW_ATE.complex_float,
          bool: enc === DW_ATE.boolean,
          char: enc === DW_ATE.signed_char || enc === DW_ATE.unsigned_char,
        };
        this.cache.set(die.offset, t);
        return t;
      }
      case DW_TAG.unspecified_type: {
        this.cache.set(die.offset, VOID);
        return VOID;
      }
      case DW_TAG.typedef: {
        const t = { kind: "typedef" as const, name: name ?? "<typedef>", target: VOID as CType };
        this.cache.set(die.offset, t);
        t.target = this.typeOf(die);
        return t;
      }
      case DW_TAG.const_type:
      case DW_TAG.volatile_type:
      case DW_TAG.restrict_type:
      case DW_TAG.atomic_type: {
        const kind = die.tag === DW_TAG.const_type ? "const" : die.tag === DW_TAG.volatile_type ? "volatile" : die.tag === DW_TAG.restrict_type ? "restrict" : "atomic";
        const t = { kind, target: VOID as CType } as { kind: "const" | "volatile" | "restrict" | "atomic"; target: CType };
        this.cache.set(die.offset, t);
        t.target = this.typeOf(die);
        return t;
      }
      case DW_TAG.pointer_type:
      case DW_TAG.reference_type: {
        const t = { kind: "pointer" as const, size: byteSize ?? u.addressSize, target: VOID as CType };
        this.cache.set(die.offset, t);
        t.target = this.typeOf(die);
        return t;
      }
      case DW_TAG.structure_type:
      case DW_TAG.union_type:
      case 0x02 /* DW_TAG_class_type */: {
        const kind = die.tag === DW_TAG.union_type ? "union" : die.tag === DW_TAG.structure_type ? "struct" : "class";
        const t: StructType = { kind, name, size: byteSize ?? 0, members: [], declaration: die.attrs.has(DW_AT.declaration) };
        this.cache.set(die.offset, t);
        for (const c of die.children) if (c.tag === DW_TAG.member) t.members.push(this.member(c));
        return t;
      }
      case DW_TAG.enumeration_type: {
        const t: EnumType = {
          kind: "enum", name, size: byteSize ?? 4, underlying: undefined, signed: false, enumerators: [],
          declaration: die.attrs.has(DW_AT.declaration),
        };
        this.cache.set(die.offset, t);
        if (die.attrs.has(DW_AT.type)) {
          t.underlying = this.typeOf(die);
          const r = resolveType(t.underlying);
          t.signed = r.kind === "base" && r.signed;
        }
        for (const c of die.children) {
          if (c.tag !== DW_TAG.enumerator) continue;
          const cv = c.attrs.get(DW_AT.const_value);
          const value = constantValue(cv, { signed: t.signed, size: t.size }) ?? 0n;
          // Without a stated underlying type, a negative enumerator (sdata) makes the enum signed.
          if (value < 0n) t.signed = true;
          t.enumerators.push({ name: u.string(c.attrs.get(DW_AT.name)) ?? "", value });
        }
        return t;
      }
      case DW_TAG.array_type: {
        const subranges = die.children.filter((c) => c.tag === DW_TAG.subrange_type || c.tag === DW_TAG.enumeration_type);
        // Placeholder while the element type builds, so a self-reference through a pointer finds an object.
        const outer: ArrayType = { kind: "array", element: VOID, count: undefined, lowerBound: 0 };
        this.cache.set(die.offset, outer);
        const element = this.typeOf(die);
        const dims = subranges.length > 0 ? subranges.map((s) => this.bounds(s)) : [{ count: undefined, lower: 0 }];
        // int m[3][4] is one DIE with two subranges; the model nests: array 3 of (array 4 of int).
        let inner: CType = element;
        for (let i = dims.length - 1; i >= 1; i--) {
          inner = { kind: "array", element: inner, count: dims[i].count, lowerBound: dims[i].lower };
        }
        outer.element = inner;
        outer.count = dims[0].count;
        outer.lowerBound = dims[0].lower;
        if (byteSize !== undefined) outer.byteSize = byteSize;
        return outer;
      }
      case DW_TAG.subroutine_type:
      case DW_TAG.subprogram: {
        const t: FunctionType = { kind: "function", returnType: VOID, params: [], variadic: false, prototyped: die.attrs.has(DW_AT.prototyped) };
        this.cache.set(die.offset, t);
        t.returnType = this.typeOf(die);
        for (const c of die.children) {
          if (c.tag === DW_TAG.formal_parameter) t.params.push(this.typeOf(c));
          else if (c.tag === DW_TAG.unspecified_parameters) t.variadic = true;
        }
        return t;
      }
      default: {
        // A tag that is not a type (or one C does not have): treat as void rather than fail the whole load.
        this.cache.set(die.offset, VOID);
        return VOID;
      }
    }
  }

  /**
   * The element count and lower bound of one array dimension. DW_AT_count is a number of elements;
   * DW_AT_lower_bound and DW_AT_upper_bound are values of the subrange's basis type (its DW_AT_type, else
   * a signed integer the size of an address: DWARF 5, 5.13). With an unsigned basis type the count is
   * taken modulo its range, so the all-ones upper bound older gcc wrote for `int a[0]` counts 0.
   */
  private bounds(s: Die): { count: number | undefined; lower: number } {
    const basis = this.subrangeBasis(s);
    const lower = Number(constantValue(s.attrs.get(DW_AT.lower_bound), basis) ?? 0n);
    const count = constantValue(s.attrs.get(DW_AT.count));
    if (count !== undefined && s.attrs.get(DW_AT.count)?.kind === "constant") {
      return { count: count >= 0n && count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : undefined, lower };
    }
    const upper = s.attrs.get(DW_AT.upper_bound);
    if (upper && upper.kind === "constant") {
      let n = constantValue(upper, basis)! - BigInt(lower) + 1n;
      if (!basis.signed) n = BigInt.asUintN(basis.size * 8, n);
      return { count: n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined, lower };
    }
    if (s.tag === DW_TAG.enumeration_type) {
      const e = this.build(s);
      return { count: e.kind === "enum" ? e.enumerators.length : undefined, lower };
    }
    return { count: undefined, lower };
  }

  /** The integer type a subrange's bounds belong to. */
  private subrangeBasis(s: Die): ConstantType {
    const fallback = { signed: true, size: s.unit.addressSize };
    if (!s.attrs.has(DW_AT.type)) return fallback;
    const t = resolveType(this.typeOf(s));
    if (t.kind === "base" && t.size > 0) return { signed: t.signed, size: t.size };
    if (t.kind === "enum") return { signed: t.signed, size: t.size };
    return fallback;
  }

  private member(die: Die): Member {
    const u = die.unit;
    const type = this.typeOf(die);
    const name = u.string(die.attrs.get(DW_AT.name));
    let offset = 0;
    const loc = die.attrs.get(DW_AT.data_member_location);
    if (loc) {
      if (loc.kind === "constant") offset = Number(loc.value);
      else if (loc.kind === "block") {
        // DWARF 2 style: an expression run with the struct's address (0 here) on the stack.
        offset = Number(evaluateStaticExpression(loc.bytes, u, [0n]));
      }
    }
    const m: Member = { name, type, offset };
    const bitSize = constantNumber(die.attrs.get(DW_AT.bit_size));
    if (bitSize !== undefined) {
      m.bitSize = bitSize;
      const dataBitOffset = constantNumber(die.attrs.get(DW_AT.data_bit_offset));
      if (dataBitOffset !== undefined) {
        m.bitOffset = dataBitOffset + offset * 8;
      } else {
        // DW_AT_bit_offset counts from the most significant bit of a storage unit of DW_AT_byte_size bytes.
        const storage = constantNumber(die.attrs.get(DW_AT.byte_size)) ?? sizeOf(type);
        const bitOffsetMsb = constantNumber(die.attrs.get(DW_AT.bit_offset)) ?? 0;
        m.bitOffset = offset * 8 + storage * 8 - bitOffsetMsb - bitSize;
      }
      // Report the byte holding the field's first bit, so offsets agree with the field's address.
      m.offset = Math.floor(m.bitOffset / 8);
    }
    return m;
  }
}
