/**
 * Evaluates C subset expressions (see expr-parser.ts) against a DebugInfo for names and types and an
 * EvalContext for memory and registers. Pointers are followed by reading memory through the context, so
 * with a context for "memory at step N" `ksCurThread->tcbState` means the thread that was current then.
 * Results keep their location (address and size, or register) when they have one, which is what
 * "who wrote this" questions need; every failure is an ExpressionError naming the failing span.
 */
import {
  C_INT, C_LLONG, C_UCHAR, C_UINT, C_ULLONG, C_USHORT, arithmeticType, builtinType, pointerTo,
} from "./c-types.js";
import type { DebugInfo, FunctionInfo, LocalVariable } from "./debug-info.js";
import { I386_DWARF_REGISTERS } from "./constants.js";
import { evaluateLocation, type LocationMachine } from "./dwarf-expr.js";
import { expressionAt } from "./location-lists.js";
import { DwarfError } from "./reader.js";
import { readRegister, registerSpec, type EvalContext } from "./eval-context.js";
import { ExpressionError } from "./expr-error.js";
import { parseExpression, type ExprNode, type TypeName } from "./expr-parser.js";
import {
  findMember, isInteger, resolveType, sizeOf, typeName,
  type CType, type StructType,
} from "./types.js";

export interface EvalOptions {
  /** Read the result's bytes (default true). Off, only the location and type are computed. */
  read?: boolean;
  /** Largest result read in full, in bytes (default 1 MiB); larger values are left unread. */
  maxReadBytes?: number;
}

export interface EvalResult {
  expression: string;
  type: CType;
  /** Where the value lives, when it is an object in memory. */
  address?: number;
  /** Size of the value in bytes (for a bitfield: the bytes that hold it). */
  size: number;
  /** For bitfields: first bit (from `address`, little-endian numbering) and width. */
  bitOffset?: number;
  bitSize?: number;
  /** When the value is a register: its name as written (`eax`, `ax`) and the 32-bit register holding it. */
  register?: { name: string; base: string; shift: number; bits: number };
  /** The value's bytes, little-endian as in memory (undefined when not read). */
  bytes?: Uint8Array;
  /** The value as an integer, for integers, enums, pointers and booleans. */
  value?: bigint;
  /** Why the bytes could not be read, when the location is valid but the memory is not readable. */
  readError?: string;
  /** Set when the expression names a function. */
  function?: FunctionInfo;
}

/** What a why-write style question should watch: a memory range or a register. */
export type WatchLocation =
  | { kind: "memory"; address: number; size: number }
  | { kind: "register"; name: string; base: string };

/** Internal value: an lvalue in memory, a register, a function designator, or bytes (an rvalue). */
interface Val {
  type: CType;
  node: ExprNode;
  address?: number;
  bitOffset?: number;
  bitSize?: number;
  register?: { name: string; base: string; shift: number; bits: number };
  bytes?: Uint8Array;
  fn?: FunctionInfo;
}

const MASK32 = 0xffffffffn;

export class ExpressionEvaluator {
  constructor(private readonly symbols: DebugInfo) {}

  /** Parses and evaluates `expression`; throws ExpressionError with the failing span. */
  evaluate(expression: string, ctx: EvalContext, options: EvalOptions = {}): EvalResult {
    const ast = parseExpression(expression, (name) => this.isTypeName(name));
    return new Evaluation(this.symbols, expression, ctx).run(ast, options);
  }

  /** Whether `name` names a type (a typedef or a DWARF base type) rather than a variable. */
  isTypeName(name: string): boolean {
    return this.symbols.findType(name) !== undefined && this.symbols.variable(name) === undefined;
  }
}

/** Evaluates one expression (convenience wrapper around ExpressionEvaluator). */
export function evaluateExpression(symbols: DebugInfo, expression: string, ctx: EvalContext, options: EvalOptions = {}): EvalResult {
  return new ExpressionEvaluator(symbols).evaluate(expression, ctx, options);
}

/**
 * The location a result designates: an object's own storage; a register; the target of a pointer value
 * (size of what it points to); or, for a plain integer such as `0xe0142628`, that address with
 * `defaultSize` bytes.
 */
export function watchLocation(r: EvalResult, defaultSize = 4): WatchLocation {
  if (r.register) return { kind: "register", name: r.register.name, base: r.register.base };
  if (r.address !== undefined) return { kind: "memory", address: r.address, size: Math.max(r.size, 1) };
  const t = resolveType(r.type);
  if (r.value !== undefined && t.kind === "pointer") {
    const target = sizeOf(t.target);
    return { kind: "memory", address: Number(r.value & MASK32), size: target > 0 ? target : defaultSize };
  }
  if (r.value !== undefined && isInteger(t)) return { kind: "memory", address: Number(r.value & MASK32), size: defaultSize };
  if (r.function) return { kind: "memory", address: r.function.entry, size: 1 };
  throw new ExpressionError(`\`${r.expression}\` is not a location (a value of type \`${typeName(r.type)}\` with no address)`, 0, r.expression.length);
}

class Evaluation {
  constructor(private readonly di: DebugInfo, private readonly src: string, private readonly ctx: EvalContext) {}

  run(ast: ExprNode, options: EvalOptions): EvalResult {
    const v = this.eval(ast);
    const t = resolveType(v.type);
    const size = v.bitSize !== undefined ? Math.ceil((v.bitOffset! + v.bitSize) / 8) : v.fn ? 0 : sizeOf(this.complete(t));
    const result: EvalResult = { expression: this.src, type: v.type, size };
    if (v.address !== undefined) result.address = v.address;
    if (v.bitSize !== undefined) {
      result.bitOffset = v.bitOffset;
      result.bitSize = v.bitSize;
    }
    if (v.register) result.register = v.register;
    if (v.fn) result.function = v.fn;
    if (options.read === false) return result;
    if (v.fn) return result;
    if (v.bytes === undefined && v.address !== undefined && size > (options.maxReadBytes ?? 1 << 20)) return result;
    try {
      result.bytes = this.bytes(v);
      if (t.kind === "base" || t.kind === "enum" || t.kind === "pointer") result.value = this.scalar(v);
    } catch (e) {
      if (!(e instanceof ExpressionError) || v.address === undefined) throw e;
      result.readError = e.message;
    }
    return result;
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private text(n: ExprNode): string {
    return this.src.slice(n.start, n.end);
  }

  private fail(message: string, n: { start: number; end: number }): never {
    throw new ExpressionError(message, n.start, n.end);
  }

  private complete(t: CType): CType {
    return this.di.complete(resolveType(t));
  }

  private read(address: number, size: number, n: ExprNode): Uint8Array {
    try {
      const b = this.ctx.readMemory(address >>> 0, size);
      if (b.length < size) throw new Error(`only ${b.length} byte(s) available`);
      return b;
    } catch (e) {
      if (e instanceof ExpressionError) throw e;
      this.fail(`cannot read ${size} byte(s) at 0x${(address >>> 0).toString(16)} for \`${this.text(n)}\`: ${(e as Error).message}`, n);
    }
  }

  /** The bytes of a value (reading memory for lvalues). */
  private bytes(v: Val): Uint8Array {
    if (v.bytes) return v.bytes;
    if (v.address !== undefined) {
      const size = v.bitSize !== undefined ? Math.ceil((v.bitOffset! + v.bitSize) / 8) : sizeOf(this.complete(v.type));
      if (size === 0) {
        const r = resolveType(v.type);
        if ((r.kind === "struct" || r.kind === "union" || r.kind === "enum") && r.declaration) {
          this.fail(`\`${this.text(v.node)}\` has incomplete type \`${typeName(v.type)}\``, v.node);
        }
      }
      v.bytes = this.read(v.address, size, v.node);
      return v.bytes;
    }
    this.fail(`\`${this.text(v.node)}\` has no value`, v.node);
  }

  /** The integer value of a scalar (integer, enum, bool, pointer), sign-extended when its type is signed. */
  private scalar(v: Val): bigint {
    if (v.fn) return BigInt(v.fn.entry);
    const t = resolveType(v.type);
    if (t.kind === "array") {
      // Arrays decay to the address of their first element.
      if (v.address === undefined) this.fail(`\`${this.text(v.node)}\` is an array with no address`, v.node);
      return BigInt(v.address);
    }
    if (t.kind === "function") {
      if (v.address === undefined) this.fail(`\`${this.text(v.node)}\` has no address`, v.node);
      return BigInt(v.address);
    }
    if (t.kind !== "base" && t.kind !== "enum" && t.kind !== "pointer") {
      this.fail(`\`${this.text(v.node)}\` is a ${typeName(v.type)}, not a number or a pointer`, v.node);
    }
    if (t.kind === "base" && t.float) this.fail(`\`${this.text(v.node)}\` is floating point; only integer arithmetic is supported`, v.node);
    const b = this.bytes(v);
    let x = 0n;
    for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
    const signed = t.kind === "base" ? t.signed : t.kind === "enum" ? t.signed : false;
    if (v.bitSize !== undefined) {
      x = (x >> BigInt(v.bitOffset!)) & ((1n << BigInt(v.bitSize)) - 1n);
      return signed ? BigInt.asIntN(v.bitSize, x) : x;
    }
    const bits = b.length * 8;
    if (bits === 0) return 0n;
    return signed ? BigInt.asIntN(bits, x) : BigInt.asUintN(bits, x);
  }

  /** An rvalue of integer or pointer type holding `value` (truncated to the type's size). */
  private make(type: CType, value: bigint, node: ExprNode): Val {
    const size = sizeOf(type) || 4;
    const bytes = new Uint8Array(size);
    let x = BigInt.asUintN(size * 8, value);
    for (let i = 0; i < size; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
    return { type, node, bytes };
  }

  private isArithmetic(v: Val): boolean {
    const t = resolveType(v.type);
    return !v.fn && ((t.kind === "base" && !t.float) || t.kind === "enum");
  }

  /** The pointer a value stands for: pointers as is, arrays and functions decayed. */
  private asPointer(v: Val): { target: CType; value: bigint } | undefined {
    const t = resolveType(v.type);
    if (v.fn) return { target: v.fn.type ?? v.type, value: BigInt(v.fn.entry) };
    if (t.kind === "pointer") return { target: t.target, value: this.scalar(v) };
    if (t.kind === "array") return { target: t.element, value: this.scalar(v) };
    return undefined;
  }

  /**
   * `base + offset` as an address. C on i386 computes addresses modulo 2^32, so `registers[1073741823]`
   * would silently land on `registers[-1]`; here the sum is exact and one outside 0..0xffffffff is an
   * error naming `n` (`what` says how the offset was formed), never a wrapped address.
   */
  private offsetAddress(base: bigint, offset: bigint, n: ExprNode, what: string): number {
    const a = base + offset;
    if (a >= 0n && a <= MASK32) return Number(a);
    const sum = `0x${base.toString(16)} ${offset < 0n ? "-" : "+"} 0x${(offset < 0n ? -offset : offset).toString(16)}`;
    const at = a < 0n ? `-0x${(-a).toString(16)}` : `0x${a.toString(16)}`;
    this.fail(`\`${this.text(n)}\` is outside the 32-bit address space: ${what} gives ${sum} = ${at}`, n);
  }

  // ---- evaluation --------------------------------------------------------------------------------

  private eval(n: ExprNode): Val {
    switch (n.kind) {
      case "number": {
        const fitsInt = n.value <= 0x7fffffffn;
        const fitsUint = n.value <= MASK32;
        const type = n.long ? (n.unsigned || n.value > 0x7fffffffffffffffn ? C_ULLONG : C_LLONG)
          : n.unsigned ? (fitsUint ? C_UINT : C_ULLONG)
          : fitsInt ? C_INT : fitsUint ? C_UINT : n.value <= 0x7fffffffffffffffn ? C_LLONG : C_ULLONG;
        if (n.value > 0xffffffffffffffffn) this.fail(`number \`${this.text(n)}\` does not fit in 64 bits`, n);
        return this.make(type, n.value, n);
      }
      case "register":
        return this.register(n);
      case "name":
        return this.name(n);
      case "member":
        return this.member(n);
      case "index":
        return this.index(n);
      case "unary":
        return this.unary(n);
      case "cast":
        return this.cast(n);
      case "binary":
        return this.binary(n);
      case "sizeof": {
        let size: number;
        if (n.type) size = sizeOf(this.complete(this.resolveTypeName(n.type)));
        else {
          const v = this.eval(n.operand!);
          size = v.bitSize !== undefined ? Math.ceil(v.bitSize / 8) : sizeOf(this.complete(v.type));
        }
        return this.make(C_UINT, BigInt(size), n);
      }
    }
  }

  private register(n: Extract<ExprNode, { kind: "register" }>): Val {
    const spec = registerSpec(n.name);
    if (!spec) this.fail(`unknown register \`$${n.name}\``, n);
    let value: number;
    try {
      value = readRegister(this.ctx, spec);
    } catch (e) {
      this.fail(`register \`$${n.name}\` is unavailable: ${(e as Error).message}`, n);
    }
    const type = spec.bits === 32 ? C_UINT : spec.bits === 16 ? C_USHORT : C_UCHAR;
    const v = this.make(type, BigInt(value), n);
    v.register = { name: n.name.toLowerCase(), base: spec.base, shift: spec.shift, bits: spec.bits };
    return v;
  }

  private name(n: Extract<ExprNode, { kind: "name" }>): Val {
    const di = this.di;
    if (n.scope !== undefined) {
      const v = di.variable(n.name, n.scope);
      if (!v) {
        if (!di.functionNamed(n.scope)) this.fail(`unknown function \`${n.scope}\``, { start: n.start, end: n.start + n.scope.length });
        this.fail(`no static variable \`${n.name}\` in function \`${n.scope}\``, n);
      }
      return this.variableValue(v, n);
    }
    // C scoping: a local or parameter of the code at EIP hides a global of the same name.
    const pc = this.pc();
    const local = pc === undefined ? undefined : di.localAt(n.name, pc);
    if (local !== undefined) return this.localValue(local, pc!, n);
    const v = di.variable(n.name);
    if (v && !v.elfOnly) return this.variableValue(v, n);
    const e = di.enumerator(n.name);
    if (e) return this.make(e.type, e.value, n);
    const f = di.functionNamed(n.name);
    if (f && (!f.elfOnly || !v)) return { type: f.type ?? { kind: "function", returnType: { kind: "void" }, params: [], variadic: false, prototyped: false }, node: n, fn: f, address: f.entry };
    if (v) return this.variableValue(v, n);
    if (di.findType(n.name)) this.fail(`\`${n.name}\` is a type, not a value`, n);
    this.fail(`unknown name \`${n.name}\``, n);
  }

  private pcCache: number | undefined | null = null;

  /** EIP of the context (the code whose locals are visible), or undefined when it has no registers. */
  private pc(): number | undefined {
    if (this.pcCache === null) {
      try {
        this.pcCache = this.ctx.register("eip") >>> 0;
      } catch {
        this.pcCache = undefined;
      }
    }
    return this.pcCache;
  }

  /** A local or parameter where the code at `pc` keeps it: memory, a register, or a computed value. */
  private localValue(l: LocalVariable, pc: number, n: ExprNode): Val {
    const where = `at 0x${pc.toString(16)} (in ${l.functionName})`;
    const expr = l.location === undefined ? undefined : "expression" in l.location ? l.location.expression : expressionAt(l.location.list, pc);
    if (expr === undefined || expr.length === 0) {
      if (l.constValue) return { type: l.type, node: n, bytes: l.constValue.subarray(0, Math.max(l.size, 0) || l.constValue.length) };
      this.fail(`\`${l.name}\` is optimised out ${where}: the compiler kept no location for it there`, n);
    }
    const ctx = this.ctx;
    const regName = (r: number): string => {
      const name = I386_DWARF_REGISTERS[r];
      if (name === undefined) throw new DwarfError(`DWARF register ${r} is not an i386 general register`);
      return name;
    };
    const machine: LocationMachine = {
      register: (r) => ctx.register(regName(r)),
      readMemory: (address, size) => ctx.readMemory(address, size),
      frameBase: () => {
        if (l.frameBase === undefined) throw new DwarfError("the function has no frame base (DW_AT_frame_base)");
        const fb = evaluateLocation(l.frameBase, l.unit, machine);
        // A frame base "in a register" means the register's contents (DWARF 5, 2.5.1.1).
        if (fb.kind === "register") return ctx.register(regName(fb.register));
        if (fb.kind === "memory") return fb.address;
        if (fb.kind === "value") return Number(fb.value & MASK32);
        throw new DwarfError("the frame base is an implicit value");
      },
      callFrameCfa: () => {
        const rule = this.di.callFrames.cfaRuleAt(pc);
        if (rule === undefined) throw new DwarfError(`no call frame information covers 0x${pc.toString(16)} (needed for the frame's CFA)`);
        return (ctx.register(regName(rule.register)) + rule.offset) >>> 0;
      },
    };
    try {
      const loc = evaluateLocation(expr, l.unit, machine);
      switch (loc.kind) {
        case "memory":
          return { type: l.type, node: n, address: loc.address };
        case "value":
          return this.make(l.type, loc.value, n);
        case "implicit":
          return { type: l.type, node: n, bytes: loc.bytes };
        case "register": {
          const base = regName(loc.register);
          const v = this.make(l.type, BigInt(ctx.register(base) >>> 0), n);
          v.register = { name: base, base, shift: 0, bits: 32 };
          return v;
        }
      }
    } catch (e) {
      if (e instanceof ExpressionError) throw e;
      if (e instanceof DwarfError) this.fail(`\`${l.name}\` ${where}: ${e.message}`, n);
      this.fail(`\`${l.name}\` ${where}: ${(e as Error).message}`, n);
    }
  }

  private variableValue(v: NonNullable<ReturnType<DebugInfo["variable"]>>, n: ExprNode): Val {
    if (v.address !== undefined) return { type: v.type, node: n, address: v.address };
    if (v.constValue) return { type: v.type, node: n, bytes: v.constValue.subarray(0, Math.max(v.size, 0) || v.constValue.length) };
    this.fail(`\`${v.name}\` has no storage (optimised out by the compiler)`, n);
  }

  private structOf(v: Val, n: ExprNode, what: string): StructType {
    const t = this.complete(v.type);
    if (t.kind !== "struct" && t.kind !== "union" && t.kind !== "class") this.fail(what, n);
    if (t.declaration) this.fail(`\`${this.text(n)}\` has incomplete type \`${typeName(t)}\` (no definition in the debug info)`, n);
    return t;
  }

  private member(n: Extract<ExprNode, { kind: "member" }>): Val {
    let base = this.eval(n.object);
    const objText = this.text(n.object);
    if (n.arrow) {
      const t = resolveType(base.type);
      if (t.kind !== "pointer") {
        const hint = t.kind === "struct" || t.kind === "union" ? " (use `.`)" : "";
        this.fail(`\`${objText}\` is not a pointer${hint}`, n.object);
      }
      base = this.deref(base, n.object);
      base.node = n.object;
    } else {
      const t = resolveType(base.type);
      if (t.kind === "pointer") {
        const target = this.complete(t.target);
        if (target.kind === "struct" || target.kind === "union") this.fail(`\`${objText}\` is a pointer (use \`->\`)`, n.object);
      }
    }
    const st = this.structOf(base, n.object, n.arrow
      ? `\`${objText}\` does not point to a struct or union (it is \`${typeName(base.type)} *\`)`
      : `\`${objText}\` is not a struct or union (it is \`${typeName(base.type)}\`)`);
    const m = findMember(st, n.member);
    if (!m) this.fail(`no member \`${n.member}\` in \`${typeName(st)}\``, { start: n.memberStart, end: n.memberEnd });
    const out: Val = { type: m.type, node: n };
    if (m.bitSize !== undefined) {
      out.bitOffset = m.bitOffset! - m.offset * 8;
      out.bitSize = m.bitSize;
    }
    if (base.address !== undefined) {
      out.address = this.offsetAddress(BigInt(base.address), BigInt(m.offset), n, `member \`${n.member}\` at offset ${m.offset}`);
    } else {
      const b = this.bytes(base);
      const size = m.bitSize !== undefined ? Math.ceil((out.bitOffset! + m.bitSize) / 8) : sizeOf(this.complete(m.type));
      out.bytes = b.subarray(m.offset, m.offset + size);
    }
    return out;
  }

  /** `*v` for a pointer value: an lvalue at the address it holds. */
  private deref(v: Val, n: ExprNode): Val {
    const t = resolveType(v.type);
    if (t.kind !== "pointer") this.fail(`\`${this.text(n)}\` is not a pointer`, n);
    const target = resolveType(t.target);
    const addr = Number(this.scalar(v) & MASK32);
    if (target.kind === "function") {
      const f = this.di.functionAt(addr);
      return { type: t.target, node: n, address: addr, ...(f && f.offset === 0 ? { fn: f.function } : {}) };
    }
    return { type: t.target, node: n, address: addr };
  }

  private index(n: Extract<ExprNode, { kind: "index" }>): Val {
    const base = this.eval(n.object);
    const idx = this.eval(n.index);
    if (!this.isArithmetic(idx)) this.fail(`index \`${this.text(n.index)}\` is not an integer`, n.index);
    const i = this.scalar(idx);
    const t = resolveType(base.type);
    if (t.kind === "array") {
      const es = sizeOf(this.complete(t.element));
      if (es === 0) this.fail(`\`${this.text(n.object)}\` has elements of unknown size`, n.object);
      const k = i - BigInt(t.lowerBound);
      if (base.address !== undefined) {
        return { type: t.element, node: n, address: this.offsetAddress(BigInt(base.address), k * BigInt(es), n, `index ${i} of ${es}-byte elements`) };
      }
      const b = this.bytes(base);
      const from = Number(k) * es;
      if (from < 0 || from + es > b.length) this.fail(`index ${i} is outside \`${this.text(n.object)}\` (a value with no address)`, n.index);
      return { type: t.element, node: n, bytes: b.subarray(from, from + es) };
    }
    if (t.kind === "pointer") {
      const target = this.complete(t.target);
      const es = sizeOf(target);
      if (resolveType(target).kind === "void") this.fail(`\`${this.text(n.object)}\` points to void; cast it to a typed pointer first`, n.object);
      if (es === 0) this.fail(`\`${this.text(n.object)}\` points to \`${typeName(t.target)}\`, whose size is unknown`, n.object);
      const p = BigInt.asUintN(32, this.scalar(base));
      return { type: t.target, node: n, address: this.offsetAddress(p, i * BigInt(es), n, `index ${i} of ${es}-byte elements`) };
    }
    this.fail(`\`${this.text(n.object)}\` is neither an array nor a pointer`, n.object);
  }

  private unary(n: Extract<ExprNode, { kind: "unary" }>): Val {
    const v = this.eval(n.operand);
    const opText = this.text(n.operand);
    switch (n.op) {
      case "*": {
        if (v.fn) return v;
        const t = resolveType(v.type);
        if (t.kind === "array") {
          if (v.address === undefined) this.fail(`\`${opText}\` has no address`, n.operand);
          return { type: t.element, node: n, address: v.address };
        }
        if (t.kind !== "pointer") this.fail(`\`${opText}\` is not a pointer`, n.operand);
        if (resolveType(t.target).kind === "void") this.fail(`\`${opText}\` points to void; cast it to a typed pointer first`, n.operand);
        const d = this.deref(v, n.operand);
        d.node = n;
        return d;
      }
      case "&": {
        if (v.register) this.fail(`cannot take the address of register \`${opText}\``, n.operand);
        if (v.bitSize !== undefined) this.fail(`cannot take the address of bitfield \`${opText}\``, n.operand);
        if (v.fn) return this.make(pointerTo(v.type), BigInt(v.fn.entry), n);
        if (v.address === undefined) this.fail(`\`${opText}\` has no address`, n.operand);
        return this.make(pointerTo(v.type), BigInt(v.address), n);
      }
      case "-":
      case "+":
      case "~": {
        if (!this.isArithmetic(v)) this.fail(`\`${opText}\` is not an integer`, n.operand);
        const t = resolveType(v.type);
        const rt = arithmeticType(sizeOf(t), t.kind === "base" ? t.signed || sizeOf(t) < 4 : t.kind === "enum" ? t.signed || sizeOf(t) < 4 : true);
        const x = this.scalar(v);
        return this.make(rt, n.op === "-" ? -x : n.op === "~" ? ~x : x, n);
      }
    }
  }

  private resolveTypeName(tn: TypeName): CType {
    let t: CType | undefined;
    const b = tn.base;
    if (b.kind === "builtin") {
      t = builtinType(b.words);
      if (!t) this.fail(`\`${b.words.join(" ")}\` is not a C type`, tn);
    } else if (b.kind === "tagged") {
      t = this.di.findType(`${b.tag} ${b.name}`);
      if (!t) this.fail(`unknown type \`${b.tag} ${b.name}\``, tn);
    } else {
      t = this.di.findType(b.name);
      if (!t) this.fail(`unknown type \`${b.name}\``, tn);
    }
    // Wrap in reverse so the first qualifier written is the outermost and prints first.
    const qualify = (inner: CType, qs: string[]): CType =>
      qs.reduceRight<CType>((acc, q) => ({ kind: q === "_Atomic" ? "atomic" : (q as "const" | "volatile" | "restrict"), target: acc }), inner);
    t = qualify(t, tn.qualifiers);
    for (const qs of tn.pointers) t = qualify(pointerTo(t), qs);
    return t;
  }

  private cast(n: Extract<ExprNode, { kind: "cast" }>): Val {
    const target = this.resolveTypeName(n.type);
    const v = this.eval(n.operand);
    const rt = resolveType(target);
    if (rt.kind === "void") return { type: target, node: n, bytes: new Uint8Array(0) };
    if (rt.kind === "pointer" || rt.kind === "base" || rt.kind === "enum") {
      const ptr = this.asPointer(v);
      let x: bigint;
      if (ptr) x = ptr.value;
      else if (this.isArithmetic(v)) x = this.scalar(v);
      else this.fail(`cannot cast \`${this.text(n.operand)}\` (a \`${typeName(v.type)}\`) to \`${n.type.text}\``, n.operand);
      if (rt.kind === "base" && rt.bool) x = x !== 0n ? 1n : 0n;
      return this.make(target, x, n);
    }
    // A struct, union or array type: view the operand's storage as that type (a debugger convenience).
    if (v.address !== undefined) return { type: target, node: n, address: v.address };
    this.fail(`cannot cast \`${this.text(n.operand)}\` to \`${n.type.text}\`: it has no address to reinterpret`, n.operand);
  }

  private binary(n: Extract<ExprNode, { kind: "binary" }>): Val {
    const l = this.eval(n.left);
    const r = this.eval(n.right);
    const lp = this.asPointer(l);
    const rp = this.asPointer(r);
    if (n.op === "+" || n.op === "-") {
      if (lp && this.isArithmetic(r)) return this.pointerArith(l, lp, this.scalar(r), n.op, n);
      if (rp && this.isArithmetic(l) && n.op === "+") return this.pointerArith(r, rp, this.scalar(l), "+", n);
      if (lp && rp && n.op === "-") {
        const ls = this.elementSize(lp.target, l, n.left);
        const rs = this.elementSize(rp.target, r, n.right);
        if (ls !== rs) this.fail(`\`${this.text(n.left)}\` and \`${this.text(n.right)}\` point to types of different sizes`, n);
        return this.make(C_INT, BigInt.asIntN(32, lp.value - rp.value) / BigInt(ls), n);
      }
    }
    const bad = !this.isArithmetic(l) ? n.left : !this.isArithmetic(r) ? n.right : undefined;
    if (bad) this.fail(`\`${this.text(bad)}\` is not an integer${this.asPointer(bad === n.left ? l : r) ? " (pointers only add or subtract integers)" : ""}`, bad);
    const lt = resolveType(l.type);
    const rtp = resolveType(r.type);
    const size = Math.max(sizeOf(lt), sizeOf(rtp), 4);
    const unsignedOf = (t: CType): boolean => {
      const s = sizeOf(t);
      if (s < 4) return false; // promoted to int
      const rr = resolveType(t);
      return rr.kind === "base" ? !rr.signed : rr.kind === "enum" ? !rr.signed : true;
    };
    // Usual arithmetic conversions: the wider operand's type; unsigned wins at equal width.
    const lu = sizeOf(lt) >= size && unsignedOf(lt);
    const ru = sizeOf(rtp) >= size && unsignedOf(rtp);
    const type = arithmeticType(size, !(lu || ru));
    const bits = size * 8;
    const norm = (x: bigint): bigint => (type.signed ? BigInt.asIntN(bits, x) : BigInt.asUintN(bits, x));
    const a = norm(this.scalar(l));
    const b = norm(this.scalar(r));
    let x: bigint;
    switch (n.op) {
      case "+": x = a + b; break;
      case "-": x = a - b; break;
      case "*": x = a * b; break;
      case "/":
      case "%":
        if (b === 0n) this.fail(`division by zero (\`${this.text(n.right)}\` is 0)`, n.right);
        x = n.op === "/" ? a / b : a % b;
        break;
    }
    return this.make(type, x, n);
  }

  private elementSize(target: CType, v: Val, n: ExprNode): number {
    const r = this.complete(target);
    // Arithmetic on void * and function addresses counts bytes (as GNU C does).
    if (r.kind === "void" || r.kind === "function" || v.fn) return 1;
    const s = sizeOf(r);
    if (s === 0) this.fail(`\`${this.text(n)}\` points to \`${typeName(target)}\`, whose size is unknown`, n);
    return s;
  }

  private pointerArith(pv: Val, p: { target: CType; value: bigint }, k: bigint, op: "+" | "-", n: ExprNode): Val {
    // A function name plus an offset is a code address (`idle_thread+3`), not a function pointer.
    const base = BigInt.asUintN(32, p.value);
    if (pv.fn) return this.make(C_UINT, BigInt(this.offsetAddress(base, op === "+" ? k : -k, n, `${op} ${k} byte(s)`)), n);
    const es = this.elementSize(p.target, pv, pv.node);
    const value = this.offsetAddress(base, (op === "+" ? k : -k) * BigInt(es), n, `${op} ${k} element(s) of ${es} byte(s)`);
    return this.make(pointerTo(p.target), BigInt(value), n);
  }
}
