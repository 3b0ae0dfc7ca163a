/**
 * Parser for the C expression subset ttd evaluates:
 *
 *   expression     := additive
 *   additive       := multiplicative (("+" | "-") multiplicative)*
 *   multiplicative := unary (("*" | "/" | "%") unary)*
 *   unary          := ("*" | "&" | "-" | "+" | "~") unary | "sizeof" unary | "sizeof" "(" type ")"
 *                   | "(" type ")" unary | postfix
 *   postfix        := primary ("." name | "->" name | "[" expression "]")*
 *   primary        := number | name | name "::" name | $register | "(" expression ")"
 *   type           := qualifiers (struct|union|enum name | C base type words | typedef name) qualifiers
 *                     ("*" qualifiers)*
 *
 * A parenthesised name is a cast when the name is a type (C's rule); the caller says which names are.
 */
import { ExpressionError } from "./expr-error.js";
import { tokenize, type Token } from "./expr-lexer.js";

interface Span {
  start: number;
  end: number;
}

export type TypeBase =
  | { kind: "tagged"; tag: "struct" | "union" | "enum"; name: string }
  | { kind: "builtin"; words: string[] }
  | { kind: "named"; name: string };

export interface TypeName extends Span {
  base: TypeBase;
  /** Qualifiers of the base type. */
  qualifiers: string[];
  /** One entry per `*`, with that pointer's own qualifiers. */
  pointers: string[][];
  text: string;
}

export type ExprNode =
  | ({ kind: "number"; value: bigint; unsigned: boolean; long: boolean } & Span)
  | ({ kind: "name"; name: string; scope?: string } & Span)
  | ({ kind: "register"; name: string } & Span)
  | ({ kind: "member"; object: ExprNode; member: string; arrow: boolean; memberStart: number; memberEnd: number } & Span)
  | ({ kind: "index"; object: ExprNode; index: ExprNode } & Span)
  | ({ kind: "unary"; op: "*" | "&" | "-" | "+" | "~"; operand: ExprNode } & Span)
  | ({ kind: "cast"; type: TypeName; operand: ExprNode } & Span)
  | ({ kind: "binary"; op: "+" | "-" | "*" | "/" | "%"; left: ExprNode; right: ExprNode } & Span)
  | ({ kind: "sizeof"; type?: TypeName; operand?: ExprNode } & Span);

const BUILTIN_WORDS = new Set(["void", "char", "short", "int", "long", "signed", "unsigned", "_Bool", "float", "double"]);
const QUALIFIERS = new Set(["const", "volatile", "restrict", "_Atomic"]);

export function parseExpression(src: string, isTypeName: (name: string) => boolean): ExprNode {
  return new Parser(src, tokenize(src), isTypeName).parse();
}

class Parser {
  private pos = 0;

  constructor(private readonly src: string, private readonly tokens: Token[], private readonly isTypeName: (name: string) => boolean) {}

  parse(): ExprNode {
    if (this.peek().kind === "eof") throw new ExpressionError("empty expression", 0, Math.max(1, this.src.length));
    const e = this.additive();
    const t = this.peek();
    if (t.kind !== "eof") throw new ExpressionError(`unexpected \`${t.text}\` after the expression`, t.start, t.end);
    return e;
  }

  private peek(n = 0): Token {
    return this.tokens[Math.min(this.pos + n, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }

  private isPunct(text: string, n = 0): boolean {
    const t = this.peek(n);
    return t.kind === "punct" && t.text === text;
  }

  private expect(text: string, what: string): Token {
    const t = this.peek();
    if (t.kind !== "punct" || t.text !== text) {
      throw new ExpressionError(t.kind === "eof" ? `expected \`${text}\` ${what}, found the end of the expression` : `expected \`${text}\` ${what}, found \`${t.text}\``, t.start, t.end);
    }
    return this.next();
  }

  private additive(): ExprNode {
    let left = this.multiplicative();
    while (this.isPunct("+") || this.isPunct("-")) {
      const op = this.next().text as "+" | "-";
      const right = this.multiplicative();
      left = { kind: "binary", op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private multiplicative(): ExprNode {
    let left = this.unary();
    while (this.isPunct("*") || this.isPunct("/") || this.isPunct("%")) {
      const op = this.next().text as "*" | "/" | "%";
      const right = this.unary();
      left = { kind: "binary", op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private unary(): ExprNode {
    const t = this.peek();
    if (t.kind === "punct" && (t.text === "*" || t.text === "&" || t.text === "-" || t.text === "+" || t.text === "~")) {
      this.next();
      const operand = this.unary();
      return { kind: "unary", op: t.text, operand, start: t.start, end: operand.end };
    }
    if (t.kind === "ident" && t.text === "sizeof") {
      this.next();
      if (this.isPunct("(") && this.startsType(1)) {
        this.next();
        const type = this.typeName();
        const close = this.expect(")", "to close `sizeof(`");
        return { kind: "sizeof", type, start: t.start, end: close.end };
      }
      const operand = this.unary();
      return { kind: "sizeof", operand, start: t.start, end: operand.end };
    }
    if (this.isPunct("(") && this.startsType(1)) {
      const open = this.next();
      const type = this.typeName();
      this.expect(")", "to close the cast");
      const operand = this.unary();
      return { kind: "cast", type, operand, start: open.start, end: operand.end };
    }
    return this.postfix();
  }

  /** Whether the token at offset n begins a type name. */
  private startsType(n: number): boolean {
    const t = this.peek(n);
    if (t.kind !== "ident") return false;
    if (t.text === "struct" || t.text === "union" || t.text === "enum") return true;
    if (BUILTIN_WORDS.has(t.text) || QUALIFIERS.has(t.text)) return true;
    // `(x)` is a cast only when x names a type and is not immediately a member/scope access.
    if (this.isTypeName(t.text) && !this.isPunct("::", n + 1)) return true;
    // `(name *)` or `(name **)` cannot be an expression, so it is a cast to a type the caller does not
    // know: parsing it as one lets the evaluator say "unknown type" instead of a syntax error.
    let k = n + 1;
    if (!this.isPunct("*", k)) return false;
    while (this.isPunct("*", k)) k++;
    return this.isPunct(")", k);
  }

  private typeName(): TypeName {
    const first = this.peek();
    const qualifiers: string[] = [];
    let base: TypeBase | undefined;
    const words: string[] = [];
    let end = first.end;
    for (;;) {
      const t = this.peek();
      if (t.kind !== "ident") break;
      if (QUALIFIERS.has(t.text)) {
        qualifiers.push(t.text);
      } else if (t.text === "struct" || t.text === "union" || t.text === "enum") {
        if (base || words.length) throw new ExpressionError(`unexpected \`${t.text}\` in a type name`, t.start, t.end);
        this.next();
        const name = this.peek();
        if (name.kind !== "ident") throw new ExpressionError(`expected a name after \`${t.text}\``, name.start, name.end);
        base = { kind: "tagged", tag: t.text, name: name.text };
        end = name.end;
      } else if (BUILTIN_WORDS.has(t.text)) {
        if (base) throw new ExpressionError(`unexpected \`${t.text}\` in a type name`, t.start, t.end);
        words.push(t.text);
      } else if (!base && words.length === 0) {
        base = { kind: "named", name: t.text };
      } else {
        break;
      }
      end = t.end;
      this.next();
    }
    if (words.length) base = { kind: "builtin", words };
    if (!base) {
      const t = this.peek();
      throw new ExpressionError("expected a type name", t.start, t.end);
    }
    const pointers: string[][] = [];
    while (this.isPunct("*")) {
      end = this.next().end;
      const q: string[] = [];
      while (this.peek().kind === "ident" && QUALIFIERS.has(this.peek().text)) {
        q.push(this.peek().text);
        end = this.next().end;
      }
      pointers.push(q);
    }
    return { base, qualifiers, pointers, start: first.start, end, text: this.src.slice(first.start, end) };
  }

  private postfix(): ExprNode {
    let e = this.primary();
    for (;;) {
      if (this.isPunct(".") || this.isPunct("->")) {
        const op = this.next();
        const name = this.peek();
        if (name.kind !== "ident") {
          throw new ExpressionError(`expected a member name after \`${op.text}\``, name.start, name.end);
        }
        this.next();
        e = { kind: "member", object: e, member: name.text, arrow: op.text === "->", memberStart: name.start, memberEnd: name.end, start: e.start, end: name.end };
      } else if (this.isPunct("[")) {
        this.next();
        const index = this.additive();
        const close = this.expect("]", "to close the index");
        e = { kind: "index", object: e, index, start: e.start, end: close.end };
      } else {
        return e;
      }
    }
  }

  private primary(): ExprNode {
    const t = this.next();
    switch (t.kind) {
      case "number":
        return { kind: "number", value: t.value!, unsigned: !!t.unsigned, long: !!t.long, start: t.start, end: t.end };
      case "register":
        return { kind: "register", name: t.text.slice(1), start: t.start, end: t.end };
      case "ident": {
        if (this.isPunct("::")) {
          this.next();
          const n = this.next();
          if (n.kind !== "ident") throw new ExpressionError(`expected a name after \`${t.text}::\``, n.start, n.end);
          return { kind: "name", name: n.text, scope: t.text, start: t.start, end: n.end };
        }
        return { kind: "name", name: t.text, start: t.start, end: t.end };
      }
      case "punct":
        if (t.text === "(") {
          const e = this.additive();
          const close = this.expect(")", "to close `(`");
          // Keep the parentheses in the span so errors underline what the user wrote.
          return { ...e, start: t.start, end: close.end };
        }
        throw new ExpressionError(`unexpected \`${t.text}\``, t.start, t.end);
      case "eof":
        throw new ExpressionError("the expression ends too early", t.start, t.end + 1);
    }
  }
}
