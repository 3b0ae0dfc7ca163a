/**
 * DWARF location expressions that need no machine state: the address of a global or static variable
 * (DW_OP_addr, DW_OP_addrx, optionally followed by arithmetic such as DW_OP_plus_uconst) and member
 * offsets written as expressions. Anything that needs registers, memory or a frame (DW_OP_reg*, breg*,
 * fbreg, deref, entry_value...) is reported as not static, since such variables live on a stack.
 */
import { DW_OP } from "./constants.js";
import type { Unit } from "./info.js";
import { ByteReader, DwarfError } from "./reader.js";

export class NotStaticError extends DwarfError {
  constructor(op: number) {
    super(`location needs machine state (DW_OP 0x${op.toString(16)})`);
    this.name = "NotStaticError";
  }
}

/**
 * Runs `bytes` on a stack machine seeded with `stack` and returns the top of the stack. Throws
 * NotStaticError on operations that depend on registers, memory or the frame.
 */
export function evaluateStaticExpression(bytes: Uint8Array, unit: Unit, stack: bigint[] = []): bigint {
  return run(bytes, unit, stack).value;
}

function run(bytes: Uint8Array, unit: Unit, stack: bigint[]): { value: bigint; isValue: boolean } {
  const r = new ByteReader(bytes, "location expression");
  const mask = (1n << BigInt(unit.addressSize * 8)) - 1n;
  const s = [...stack];
  const pop = (): bigint => {
    const v = s.pop();
    if (v === undefined) throw new DwarfError("location expression pops an empty stack");
    return v;
  };
  while (!r.atEnd()) {
    const op = r.u8();
    if (op >= DW_OP.lit0 && op <= DW_OP.lit31) {
      s.push(BigInt(op - DW_OP.lit0));
      continue;
    }
    switch (op) {
      case DW_OP.addr: s.push(BigInt(r.uint(unit.addressSize))); break;
      case DW_OP.addrx: case DW_OP.constx: case DW_OP.GNU_addr_index: case DW_OP.GNU_const_index:
        s.push(BigInt(unit.addrx(r.uleb()))); break;
      case DW_OP.const1u: s.push(BigInt(r.u8())); break;
      case DW_OP.const1s: s.push(BigInt(r.i8())); break;
      case DW_OP.const2u: s.push(BigInt(r.u16())); break;
      case DW_OP.const2s: s.push(BigInt(r.i16())); break;
      case DW_OP.const4u: s.push(BigInt(r.u32())); break;
      case DW_OP.const4s: s.push(BigInt(r.i32())); break;
      case DW_OP.const8u: s.push(r.u64()); break;
      case DW_OP.const8s: s.push(r.i64()); break;
      case DW_OP.constu: s.push(r.ulebBig()); break;
      case DW_OP.consts: s.push(r.slebBig()); break;
      case DW_OP.dup: { const a = pop(); s.push(a, a); break; }
      case DW_OP.drop: pop(); break;
      case DW_OP.over: { const a = pop(); const b = pop(); s.push(b, a, b); break; }
      case DW_OP.swap: { const a = pop(); const b = pop(); s.push(a, b); break; }
      case DW_OP.plus_uconst: s.push((pop() + r.ulebBig()) & mask); break;
      case DW_OP.plus: { const a = pop(); s.push((pop() + a) & mask); break; }
      case DW_OP.minus: { const a = pop(); s.push((pop() - a) & mask); break; }
      case DW_OP.mul: { const a = pop(); s.push((pop() * a) & mask); break; }
      case DW_OP.and: { const a = pop(); s.push(pop() & a); break; }
      case DW_OP.or: { const a = pop(); s.push(pop() | a); break; }
      case DW_OP.xor: { const a = pop(); s.push(pop() ^ a); break; }
      case DW_OP.neg: s.push(-pop() & mask); break;
      case DW_OP.not: s.push(~pop() & mask); break;
      case DW_OP.shl: { const a = pop(); s.push((pop() << a) & mask); break; }
      case DW_OP.shr: { const a = pop(); s.push(pop() >> a); break; }
      case DW_OP.nop: break;
      // The value is the result itself rather than an address; staticAddress() tells the two apart.
      case DW_OP.stack_value: return { value: pop(), isValue: true };
      default:
        throw new NotStaticError(op);
    }
  }
  return { value: pop(), isValue: false };
}

/** The static address a DW_AT_location expression names, or undefined when it is not static. */
export function staticAddress(bytes: Uint8Array, unit: Unit): number | undefined {
  const first = bytes[0];
  if (first !== DW_OP.addr && first !== DW_OP.addrx && first !== DW_OP.GNU_addr_index) return undefined;
  try {
    const { value, isValue } = run(bytes, unit, []);
    // DW_OP_stack_value makes the result the variable's value (an optimised-out global), not its address.
    return isValue ? undefined : Number(value);
  } catch (e) {
    if (e instanceof NotStaticError) return undefined;
    throw e;
  }
}
