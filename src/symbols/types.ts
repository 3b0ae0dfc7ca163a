/**
 * The C type model the symbol layer exposes, built from DWARF type DIEs: base types, typedefs,
 * struct/union (members with byte offsets and bitfields), enums with enumerators, pointers, arrays (one
 * level per dimension), const/volatile/restrict/atomic qualifiers and function types. Types may be
 * cyclic (a struct holding a pointer to itself), so sizes of wrappers are computed on use by sizeOf().
 */

export interface VoidType {
  kind: "void";
}

export interface BaseType {
  kind: "base";
  name: string;
  size: number;
  /** DW_ATE_* encoding. */
  encoding: number;
  signed: boolean;
  float: boolean;
  bool: boolean;
  char: boolean;
}

export interface TypedefType {
  kind: "typedef";
  name: string;
  target: CType;
}

export interface Member {
  /** Undefined for an anonymous struct or union member. */
  name: string | undefined;
  type: CType;
  /** Byte offset of the member (of the storage unit holding it, for a bitfield). */
  offset: number;
  /** For bitfields: width in bits. */
  bitSize?: number;
  /** For bitfields: bit offset from the start of the enclosing struct (little-endian numbering). */
  bitOffset?: number;
}

export interface StructType {
  kind: "struct" | "union" | "class";
  name: string | undefined;
  size: number;
  members: Member[];
  /** True for a forward declaration (`struct tcb;`) whose layout lives elsewhere. */
  declaration: boolean;
}

export interface Enumerator {
  name: string;
  value: bigint;
}

export interface EnumType {
  kind: "enum";
  name: string | undefined;
  size: number;
  underlying: CType | undefined;
  signed: boolean;
  enumerators: Enumerator[];
  declaration: boolean;
}

export interface PointerType {
  kind: "pointer";
  size: number;
  target: CType;
}

export interface ArrayType {
  kind: "array";
  element: CType;
  /** Number of elements; undefined for `[]` or a variable length. */
  count: number | undefined;
  lowerBound: number;
  /** Byte size when DWARF states it; otherwise count * element size. */
  byteSize?: number;
}

export interface QualifiedType {
  kind: "const" | "volatile" | "restrict" | "atomic";
  target: CType;
}

export interface FunctionType {
  kind: "function";
  returnType: CType;
  params: CType[];
  variadic: boolean;
  prototyped: boolean;
}

export type CType =
  | VoidType
  | BaseType
  | TypedefType
  | StructType
  | EnumType
  | PointerType
  | ArrayType
  | QualifiedType
  | FunctionType;

export const VOID: VoidType = { kind: "void" };

/** Removes typedefs and qualifiers: the type that decides layout and operations. */
export function resolveType(t: CType): CType {
  let cur = t;
  for (let guard = 0; guard < 1000; guard++) {
    if (cur.kind === "typedef" || cur.kind === "const" || cur.kind === "volatile" || cur.kind === "restrict" || cur.kind === "atomic") {
      cur = cur.target;
    } else {
      return cur;
    }
  }
  throw new Error("typedef cycle");
}

/** Size of a value of type `t` in bytes (0 for void, functions and arrays of unknown length). */
export function sizeOf(t: CType): number {
  const r = resolveType(t);
  switch (r.kind) {
    case "void":
    case "function":
      return 0;
    case "base":
    case "struct":
    case "union":
    case "class":
    case "enum":
    case "pointer":
      return r.size;
    case "array":
      if (r.byteSize !== undefined) return r.byteSize;
      return r.count === undefined ? 0 : r.count * sizeOf(r.element);
    default:
      return 0;
  }
}

export function isInteger(t: CType): boolean {
  const r = resolveType(t);
  return (r.kind === "base" && !r.float) || r.kind === "enum";
}

export function isPointer(t: CType): t is PointerType {
  return resolveType(t).kind === "pointer";
}

export function isScalar(t: CType): boolean {
  const r = resolveType(t);
  return r.kind === "base" || r.kind === "enum" || r.kind === "pointer";
}

/** Whether integer values of this type are signed (pointers and enums without a signed base are not). */
export function isSigned(t: CType): boolean {
  const r = resolveType(t);
  if (r.kind === "base") return r.signed;
  if (r.kind === "enum") return r.signed;
  return false;
}

/** Looks up a member by name, searching anonymous struct/union members too; returns it with its full offset. */
export function findMember(t: StructType, name: string): Member | undefined {
  for (const m of t.members) {
    if (m.name === name) return m;
    if (m.name === undefined) {
      const inner = resolveType(m.type);
      if (inner.kind === "struct" || inner.kind === "union" || inner.kind === "class") {
        const found = findMember(inner, name);
        if (found) {
          return {
            ...found,
            offset: m.offset + found.offset,
            ...(found.bitOffset !== undefined ? { bitOffset: found.bitOffset + m.offset * 8 } : {}),
          };
        }
      }
    }
  }
  return undefined;
}

/** The type's name as C spells it for a declaration with no declarator (`struct tcb *`, `int (*)(int)`). */
export function typeName(t: CType): string {
  return declare(t, "");
}

/** A C declaration of `name` with type `t`, e.g. declare(int[4], "x") = "int x[4]". */
export function declare(t: CType, name: string): string {
  // Array dimensions attach to the name without a space (`char[16]`); anything else is separated.
  const join = (base: string, decl: string): string => (decl === "" ? base : decl.startsWith("[") ? base + decl : `${base} ${decl}`);
  switch (t.kind) {
    case "void":
      return join("void", name);
    case "base":
    case "typedef":
      return join(t.name, name);
    case "struct":
    case "union":
    case "class":
      return join(`${t.kind} ${t.name ?? "<anonymous>"}`, name);
    case "enum":
      return join(`enum ${t.name ?? "<anonymous>"}`, name);
    case "pointer": {
      return declare(t.target, `*${name}`);
    }
    case "const":
    case "volatile":
    case "restrict":
    case "atomic": {
      const q = t.kind === "atomic" ? "_Atomic" : t.kind;
      const target = t.target;
      // A qualified pointer puts the qualifier after its star: `char *const p`.
      if (target.kind === "pointer") return declare(target, name === "" ? q : `${q} ${name}`);
      // Qualifiers of non-pointer types go in front: `const volatile word_t`. A const array of const
      // elements (gcc writes both) reads as one `const`.
      const inner = declare(target, name);
      return inner.startsWith(`${q} `) ? inner : `${q} ${inner}`;
    }
    case "array": {
      const dim = `[${t.count ?? ""}]`;
      const inner = name.startsWith("*") ? `(${name})${dim}` : `${name}${dim}`;
      return declare(t.element, inner);
    }
    case "function": {
      const params = t.params.map((p) => typeName(p));
      if (t.variadic) params.push("...");
      if (params.length === 0 && t.prototyped) params.push("void");
      const inner = name.startsWith("*") ? `(${name})(${params.join(", ")})` : `${name}(${params.join(", ")})`;
      return declare(t.returnType, inner);
    }
  }
}
