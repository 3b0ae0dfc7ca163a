/**
 * Tokens of the C expression subset: integer literals (decimal, 0x hex, 0 octal, with u/l suffixes),
 * identifiers and keywords, $registers, and the punctuators the grammar uses. Each token keeps its span.
 */
import { ExpressionError } from "./expr-error.js";

export type TokenKind = "number" | "ident" | "register" | "punct" | "eof";

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
  /** For numbers: the value and whether a suffix or size made it unsigned / 64-bit. */
  value?: bigint;
  unsigned?: boolean;
  long?: boolean;
}

const PUNCTUATORS = ["->", "::", "(", ")", "[", "]", ".", "*", "&", "+", "-", "/", "%", "~", ","];

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c)) {
      let value: bigint;
      if (/^0[xX]/.test(src.slice(i))) {
        i += 2;
        const s = i;
        while (i < src.length && /[0-9a-fA-F]/.test(src[i])) i++;
        if (i === s) throw new ExpressionError(`malformed hexadecimal number \`${src.slice(start, i + 1)}\``, start, i + 1);
        value = BigInt("0x" + src.slice(s, i));
      } else if (c === "0" && /[0-9]/.test(src[i + 1] ?? "")) {
        while (i < src.length && /[0-9]/.test(src[i])) i++;
        const digits = src.slice(start + 1, i);
        if (/[89]/.test(digits)) throw new ExpressionError(`invalid digit in octal number \`${src.slice(start, i)}\``, start, i);
        value = BigInt("0o" + digits);
      } else {
        while (i < src.length && /[0-9]/.test(src[i])) i++;
        value = BigInt(src.slice(start, i));
      }
      let unsigned = false;
      let long = false;
      while (i < src.length && /[uUlL]/.test(src[i])) {
        if (/[uU]/.test(src[i])) unsigned = true;
        else if (/[lL]/.test(src[i + 1] ?? "")) {
          long = true;
          i++;
        }
        i++;
      }
      if (i < src.length && /[A-Za-z_0-9]/.test(src[i])) {
        while (i < src.length && /[A-Za-z_0-9]/.test(src[i])) i++;
        throw new ExpressionError(`malformed number \`${src.slice(start, i)}\``, start, i);
      }
      out.push({ kind: "number", text: src.slice(start, i), start, end: i, value, unsigned, long });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z_0-9]/.test(src[i])) i++;
      out.push({ kind: "ident", text: src.slice(start, i), start, end: i });
      continue;
    }
    if (c === "$") {
      i++;
      while (i < src.length && /[A-Za-z_0-9]/.test(src[i])) i++;
      if (i === start + 1) throw new ExpressionError("`$` must be followed by a register name", start, i);
      out.push({ kind: "register", text: src.slice(start, i), start, end: i });
      continue;
    }
    const p = PUNCTUATORS.find((x) => src.startsWith(x, i));
    if (!p) throw new ExpressionError(`unexpected character \`${c}\``, start, start + 1);
    i += p.length;
    out.push({ kind: "punct", text: p, start, end: i });
  }
  out.push({ kind: "eof", text: "", start: src.length, end: src.length });
  return out;
}
