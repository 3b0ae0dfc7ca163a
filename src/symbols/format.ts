/**
 * Pretty-printing of typed values, in the style C programmers know from gdb: structs as
 * `{a = 1, b = {c = 2}}`, arrays as `{1, 2, 3}` with runs folded (`0 <repeats 4093 times>`), enums by
 * enumerator name, pointers in hex with an optional symbol, char arrays as string literals, bitfields
 * extracted. UIs call formatValue with the bytes an evaluation returned.
 */
import { formatFloatBytes } from "./float-text.js";
import { resolveType, sizeOf, typeName, type CType, type Member } from "./types.js";

export interface FormatOptions {
  /** Names an address (`<idle_thread+3>`, `<initThread>`), for pointers. */
  symbolize?: (address: number) => string | undefined;
  /** Replaces forward declarations by definitions (DebugInfo.complete). */
  complete?: (t: CType) => CType;
  /** Elements printed per array before `...` (default 200). */
  maxElements?: number;
  /** Runs of equal elements at least this long fold into `<repeats N times>` (default 10). */
  repeatThreshold?: number;
  /** Print structs one member per line, indented by this many spaces per level. */
  indent?: number;
  /** Integers in hexadecimal instead of decimal. */
  hex?: boolean;
  /** For a bitfield value: its first bit within `bytes` and its width. */
  bitOffset?: number;
  bitSize?: number;
}

/** The value of type `type` held in `bytes` (little-endian, as in memory), as text. */
export function formatValue(type: CType, bytes: Uint8Array, options: FormatOptions = {}): string {
  return new Formatter(options).value(type, bytes, options.bitOffset, options.bitSize, 0);
}

/** Reads an unsigned little-endian integer of bytes.length bytes. */
export function littleEndian(bytes: Uint8Array): bigint {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
  return x;
}

function charLiteral(c: number): string {
  const esc: Record<number, string> = { 0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 39: "\\'", 92: "\\\\" };
  if (esc[c] !== undefined) return esc[c];
  if (c >= 32 && c < 127) return String.fromCharCode(c);
  return "\\" + c.toString(8).padStart(3, "0");
}

class Formatter {
  constructor(private readonly o: FormatOptions) {}

  private complete(t: CType): CType {
    const r = resolveType(t);
    return this.o.complete ? resolveType(this.o.complete(r)) : r;
  }

  value(type: CType, bytes: Uint8Array, bitOffset: number | undefined, bitSize: number | undefined, depth: number): string {
    const t = this.complete(type);
    switch (t.kind) {
      case "void":
        return "void";
      case "base":
      case "enum": {
        if (bytes.length === 0) return "<no bytes>";
        let x = littleEndian(bytes);
        const signed = t.kind === "base" ? t.signed : t.signed;
        if (bitSize !== undefined) {
          x = (x >> BigInt(bitOffset ?? 0)) & ((1n << BigInt(bitSize)) - 1n);
          if (signed) x = BigInt.asIntN(bitSize, x);
        } else if (signed) {
          x = BigInt.asIntN(bytes.length * 8, x);
        }
        if (t.kind === "enum") {
          const e = t.enumerators.find((en) => en.value === x || BigInt.asUintN(t.size * 8, en.value) === BigInt.asUintN(t.size * 8, x));
          return e ? e.name : this.int(x);
        }
        if (t.bool) return x === 0n ? "false" : x === 1n ? "true" : this.int(x);
        if (t.float) return this.float(bytes);
        if (t.char) return `${this.int(x)} '${charLiteral(Number(BigInt.asUintN(8, x)))}'`;
        return this.int(x);
      }
      case "pointer": {
        const a = Number(littleEndian(bytes));
        const hex = "0x" + a.toString(16);
        const target = this.complete(t.target);
        const sym = a !== 0 && this.o.symbolize ? this.o.symbolize(a) : undefined;
        const prefix = target.kind === "function" ? `(${typeName(type)}) ` : "";
        return sym && sym !== hex ? `${prefix}${hex} <${sym}>` : `${prefix}${hex}`;
      }
      case "struct":
      case "union":
      case "class": {
        if (t.declaration) return `<incomplete ${typeName(t)}>`;
        const parts = t.members.map((m) => this.member(m, bytes, depth));
        return this.braces(parts, depth);
      }
      case "array":
        return this.array(t.element, t.count, bytes, depth);
      case "function":
        return `{${typeName(type)}}`;
      default:
        return "<?>";
    }
  }

  private member(m: Member, bytes: Uint8Array, depth: number): string {
    const name = m.name ?? "";
    let text: string;
    if (m.bitSize !== undefined) {
      const from = m.offset;
      const rel = m.bitOffset! - from * 8;
      const n = Math.ceil((rel + m.bitSize) / 8);
      text = this.value(m.type, bytes.subarray(from, from + n), rel, m.bitSize, depth + 1);
    } else {
      const size = sizeOf(this.complete(m.type));
      text = this.value(m.type, bytes.subarray(m.offset, m.offset + size), undefined, undefined, depth + 1);
    }
    return name === "" ? text : `${name} = ${text}`;
  }

  private array(element: CType, count: number | undefined, bytes: Uint8Array, depth: number): string {
    const el = this.complete(element);
    const es = sizeOf(el);
    if (es === 0) return "{}";
    const n = count ?? Math.floor(bytes.length / es);
    const available = Math.min(n, Math.floor(bytes.length / es));
    if (el.kind === "base" && el.char && es === 1) return this.string(bytes.subarray(0, available));
    const max = this.o.maxElements ?? 200;
    const threshold = this.o.repeatThreshold ?? 10;
    const parts: string[] = [];
    let i = 0;
    let shown = 0;
    while (i < available && shown < max) {
      const cur = bytes.subarray(i * es, (i + 1) * es);
      let run = 1;
      while (i + run < available && equalBytes(bytes.subarray((i + run) * es, (i + run + 1) * es), cur)) run++;
      const text = this.value(element, cur, undefined, undefined, depth + 1);
      if (run >= threshold) {
        parts.push(`${text} <repeats ${run} times>`);
        i += run;
      } else {
        parts.push(text);
        i++;
      }
      shown++;
    }
    if (i < n) parts.push("...");
    return this.braces(parts, depth);
  }

  /**
   * A char array: the text up to its first NUL when only NULs follow, else every byte escaped; at
   * most maxElements characters either way, then `...` (as gdb's print elements).
   */
  private string(bytes: Uint8Array): string {
    const max = this.o.maxElements ?? 200;
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    const rest = bytes.subarray(end);
    const shown = rest.every((b) => b === 0) ? bytes.subarray(0, end) : bytes;
    const body = Array.from(shown.subarray(0, max), charLiteral).join("");
    return `"${body}"${shown.length > max ? "..." : ""}`;
  }

  private braces(parts: string[], depth: number): string {
    if (this.o.indent === undefined || parts.length === 0) return `{${parts.join(", ")}}`;
    const pad = " ".repeat(this.o.indent * (depth + 1));
    return `{\n${parts.map((p) => pad + p).join(",\n")}\n${" ".repeat(this.o.indent * depth)}}`;
  }

  private int(x: bigint): string {
    if (!this.o.hex) return x.toString();
    return x < 0n ? "-0x" + (-x).toString(16) : "0x" + x.toString(16);
  }

  private float(bytes: Uint8Array): string {
    return formatFloatBytes(bytes) ?? `<${bytes.length}-byte float>`;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
