/**
 * DWARF location expressions. Without machine state: the address of a global or static variable
 * (DW_OP_addr, DW_OP_addrx, optionally followed by arithmetic such as DW_OP_plus_uconst) and member
 * offsets written as expressions; anything that needs registers, memory or a frame is reported as not
 * static. With a LocationMachine (registers and memory at a step, and the frame base): the locations of
 * locals and parameters (DW_OP_reg*, breg*, fbreg, deref, stack_value, call_frame_cfa...). Entry
 * values and variables split into pieces are not supported.
 */
import { DW_OP } from "./constants.js";
import type { Unit } from "./info.js";
import { ByteReader, DwarfError } from "./reader.js";

/** Registers, memory and frame base at a step, for locations that depend on them. */
export interface LocationMachine {
  /** A register by DWARF number (i386 psABI: 0 eax, 1 ecx, 2 edx, 3 ebx, 4 esp, 5 ebp, 6 esi, 7 edi, 8 eip, 9 eflags). */
  register(dwarfRegister: number): number;
  /** `size` bytes at a virtual address; throws when unreadable. */
  readMemory(address: number, size: number): Uint8Array;
  /** The enclosing function's frame base (its DW_AT_frame_base evaluated), for DW_OP_fbreg. */
  frameBase(): number;
  /** The Canonical Frame Address at the current code address, from call frame information. */
  callFrameCfa(): number;
}

/** Where a located object is: memory, a whole register (by DWARF number), or a computed value. */
export type LocationResult =
  | { kind: "memory"; address: number }
  | { kind: "register"; register: number }
  | { kind: "value"; value: bigint }
  | { kind: "implicit"; bytes: Uint8Array };

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

/**
 * Evaluates a variable's location expression against machine state. Throws DwarfError naming what
 * is not supported (a location split into pieces, call frame information, entry values).
 */
export function evaluateLocation(bytes: Uint8Array, unit: Unit, machine: LocationMachine): LocationResult {
  if (bytes.length === 0) throw new DwarfError("the location is empty (the variable is optimised out here)");
  const first = bytes[0];
  // A register location names the register itself, not an address in it: alone, or as the only piece.
  let reg = -1, rest = 1;
  if (first >= DW_OP.reg0 && first <= DW_OP.reg31) reg = first - DW_OP.reg0;
  else if (first === DW_OP.regx) {
    const r = new ByteReader(bytes, "location expression", 1);
    reg = r.uleb();
    rest = r.offset;
  }
  if (reg >= 0) {
    if (rest === bytes.length || (bytes[rest] === DW_OP.piece && onlyPiece(bytes, rest))) return { kind: "register", register: reg };
    throw new DwarfError("the variable is split into pieces across registers or memory (not supported)");
  }
  if (first === DW_OP.implicit_value) {
    const r = new ByteReader(bytes, "location expression", 1);
    return { kind: "implicit", bytes: r.block(r.uleb()) };
  }
  const { value, isValue } = run(bytes, unit, [], machine);
  return isValue ? { kind: "value", value } : { kind: "memory", address: Number(value & 0xffffffffn) };
}

/** Whether the DW_OP_piece at `at` is the expression's last operation. */
function onlyPiece(bytes: Uint8Array, at: number): boolean {
  const r = new ByteReader(bytes, "location expression", at + 1);
  r.uleb();
  return r.atEnd();
}

function run(bytes: Uint8Array, unit: Unit, stack: bigint[], machine?: LocationMachine): { value: bigint; isValue: boolean } {
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
      case DW_OP.addr: s.push(BigInt(unit.sections.relocate(r.uint(unit.addressSize)))); break;
      case DW_OP.addrx: case DW_OP.GNU_addr_index: s.push(BigInt(unit.addrx(r.uleb()))); break;
      case DW_OP.constx: case DW_OP.GNU_const_index: s.push(BigInt(unit.constx(r.uleb()))); break;
      // The stack holds values of the generic type, an unsigned integer the size of an address (DWARF 5,
      // 2.5.1): signed constants go in as their two's complement, so DW_OP_shr and friends see those bits.
      case DW_OP.const1u: s.push(BigInt(r.u8())); break;
      case DW_OP.const1s: s.push(BigInt(r.i8()) & mask); break;
      case DW_OP.const2u: s.push(BigInt(r.u16())); break;
      case DW_OP.const2s: s.push(BigInt(r.i16()) & mask); break;
      case DW_OP.const4u: s.push(BigInt(r.u32()) & mask); break;
      case DW_OP.const4s: s.push(BigInt(r.i32()) & mask); break;
      case DW_OP.const8u: s.push(r.u64() & mask); break;
      case DW_OP.const8s: s.push(r.i64() & mask); break;
      case DW_OP.constu: s.push(r.ulebBig() & mask); break;
      case DW_OP.consts: s.push(r.slebBig() & mask); break;
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
      case DW_OP.xor: { const a = pop(); s.push((pop() ^ a) & mask); break; }
      case DW_OP.neg: s.push(-pop() & mask); break;
      case DW_OP.not: s.push(~pop() & mask); break;
      case DW_OP.shl: { const a = pop(); s.push((pop() << a) & mask); break; }
      case DW_OP.shr: { const a = pop(); s.push(pop() >> a); break; }
      case DW_OP.nop: break;
      // The value is the result itself rather than an address; staticAddress() tells the two apart.
      case DW_OP.stack_value: return { value: pop(), isValue: true };
      case DW_OP.piece: {
        r.uleb();
        if (!r.atEnd()) throw new DwarfError("the variable is split into pieces across registers or memory (not supported)");
        break;
      }
      default: {
        if (machine === undefined) throw new NotStaticError(op);
        if (op >= DW_OP.breg0 && op <= DW_OP.breg31) {
          s.push((BigInt(machine.register(op - DW_OP.breg0) >>> 0) + r.slebBig()) & mask);
        } else if (op === DW_OP.bregx) {
          const reg = r.uleb();
          s.push((BigInt(machine.register(reg) >>> 0) + r.slebBig()) & mask);
        } else if (op === DW_OP.fbreg) {
          s.push((BigInt(machine.frameBase() >>> 0) + r.slebBig()) & mask);
        } else if (op === DW_OP.deref || op === DW_OP.deref_size) {
          const size = op === DW_OP.deref ? unit.addressSize : r.u8();
          const b = machine.readMemory(Number(pop() & mask), size);
          let v = 0n;
          for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
          s.push(v);
        } else if (op === DW_OP.call_frame_cfa) {
          s.push(BigInt(machine.callFrameCfa() >>> 0));
        } else if (op === DW_OP.entry_value || op === DW_OP.GNU_entry_value) {
          throw new DwarfError("the location is the value a register had on entry to the function (DW_OP_entry_value, not supported)");
        } else {
          throw new DwarfError(`unsupported DWARF operation 0x${op.toString(16)} in a location`);
        }
      }
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
