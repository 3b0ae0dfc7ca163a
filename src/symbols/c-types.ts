/**
 * The C types an expression can name without DWARF: base types spelled with keywords (`unsigned int`,
 * `long long`, `char`), with their i386 System V sizes, plus helpers to build pointers and pick the type
 * of integer arithmetic results.
 */
import { DW_ATE } from "./constants.js";
import { VOID, type BaseType, type CType, type PointerType } from "./types.js";

function base(name: string, size: number, encoding: number): BaseType {
  return {
    kind: "base", name, size, encoding,
    signed: encoding === DW_ATE.signed || encoding === DW_ATE.signed_char,
    float: encoding === DW_ATE.float,
    bool: encoding === DW_ATE.boolean,
    char: encoding === DW_ATE.signed_char || encoding === DW_ATE.unsigned_char,
  };
}

export const C_CHAR = base("char", 1, DW_ATE.signed_char);
export const C_SCHAR = base("signed char", 1, DW_ATE.signed_char);
export const C_UCHAR = base("unsigned char", 1, DW_ATE.unsigned_char);
export const C_SHORT = base("short", 2, DW_ATE.signed);
export const C_USHORT = base("unsigned short", 2, DW_ATE.unsigned);
export const C_INT = base("int", 4, DW_ATE.signed);
export const C_UINT = base("unsigned int", 4, DW_ATE.unsigned);
export const C_LONG = base("long", 4, DW_ATE.signed);
export const C_ULONG = base("unsigned long", 4, DW_ATE.unsigned);
export const C_LLONG = base("long long", 8, DW_ATE.signed);
export const C_ULLONG = base("unsigned long long", 8, DW_ATE.unsigned);
export const C_BOOL = base("_Bool", 1, DW_ATE.boolean);
export const C_FLOAT = base("float", 4, DW_ATE.float);
export const C_DOUBLE = base("double", 8, DW_ATE.float);
export const C_LDOUBLE = base("long double", 12, DW_ATE.float);

/**
 * The type a list of C type keywords spells (`unsigned`, `long long int`, `signed char`), or undefined
 * when the combination is not a C type.
 */
export function builtinType(words: string[]): CType | undefined {
  const count = (w: string): number => words.filter((x) => x === w).length;
  const signed = count("signed");
  const unsigned = count("unsigned");
  const longs = count("long");
  const known = ["void", "char", "short", "int", "long", "signed", "unsigned", "_Bool", "float", "double"];
  if (words.some((w) => !known.includes(w)) || signed + unsigned > 1 || longs > 2 || count("int") > 1 || count("short") > 1 || count("char") > 1) return undefined;
  const only = (...allowed: string[]): boolean => words.every((w) => allowed.includes(w));
  if (count("void")) return words.length === 1 ? VOID : undefined;
  if (count("_Bool")) return words.length === 1 ? C_BOOL : undefined;
  if (count("float")) return words.length === 1 ? C_FLOAT : undefined;
  if (count("double")) return words.length === 1 ? C_DOUBLE : only("long", "double") && longs === 1 ? C_LDOUBLE : undefined;
  if (count("char")) {
    if (!only("char", "signed", "unsigned")) return undefined;
    return unsigned ? C_UCHAR : signed ? C_SCHAR : C_CHAR;
  }
  if (count("short")) {
    if (!only("short", "int", "signed", "unsigned") || longs) return undefined;
    return unsigned ? C_USHORT : C_SHORT;
  }
  if (longs === 2) return unsigned ? C_ULLONG : C_LLONG;
  if (longs === 1) return unsigned ? C_ULONG : C_LONG;
  return unsigned ? C_UINT : C_INT;
}

export function pointerTo(target: CType): PointerType {
  return { kind: "pointer", size: 4, target };
}

/** The integer type of a given size and signedness after C's integer promotions (at least int). */
export function arithmeticType(size: number, signed: boolean): BaseType {
  if (size > 4) return signed ? C_LLONG : C_ULLONG;
  return signed ? C_INT : C_UINT;
}
