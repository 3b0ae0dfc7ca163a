/**
 * One disassembler for the whole project: iced-x86 decoding 32-bit code, formatted in AT&T (GNU as)
 * syntax like objdump, which is what kernel developers read (`push %ebp`). Symbol names for branch
 * targets come from an optional resolver.
 */
import { Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction } from "./iced.js";

export interface Disassembled {
  /** Instruction text, e.g. `push %ebp` or `call 0xe0101234 <schedule>`. */
  text: string;
  /** Length in bytes (0 when the bytes do not decode). */
  length: number;
  /** Whether the bytes decoded to a valid instruction. */
  valid: boolean;
}

/** Names a code address for branch targets ("schedule+0x1c"), or returns "" when unknown. */
export type SymbolResolver = (address: number) => string;

let formatter: Formatter | null = null;
let scratch: Instruction | null = null;

function getFormatter(): Formatter {
  if (formatter === null) {
    formatter = new Formatter(FormatterSyntax.Gas);
    formatter.uppercaseHex = false;
    formatter.hexPrefix = "0x";
    formatter.hexSuffix = "";
    formatter.spaceAfterOperandSeparator = true;
    formatter.branchLeadingZeros = false;
  }
  return formatter;
}

/** Decodes one instruction at `eip` from `bytes` (which start at `eip`). */
export function decodeAt(bytes: Uint8Array, eip: number): Instruction {
  const decoder = new Decoder(32, bytes, DecoderOptions.None);
  decoder.ip = BigInt(eip >>> 0);
  if (scratch === null) scratch = new Instruction();
  decoder.decodeOut(scratch);
  decoder.free();
  return scratch;
}

/** Disassembles the instruction at `eip`; `bytes` hold at least its bytes (15 suffice). */
export function disassemble(bytes: Uint8Array, eip: number, symbols?: SymbolResolver): Disassembled {
  if (bytes.length === 0) return { text: "(code not readable)", length: 0, valid: false };
  const instr = decodeAt(bytes, eip);
  if (instr.isInvalid) {
    // Fewer than 15 bytes that do not decode: the code ran off readable memory, not necessarily bad code.
    const shown = Array.from(bytes.subarray(0, Math.min(4, bytes.length)), (b) => b.toString(16).padStart(2, "0")).join(" ");
    return { text: bytes.length < 15 ? `(truncated: ${shown})` : `(invalid: ${shown})`, length: 0, valid: false };
  }
  let text = getFormatter().format(instr);
  if (symbols !== undefined && (instr.isCallNear || instr.isJmpNear || instr.isJccShortOrNear || instr.isJmpShort)) {
    const name = symbols(Number(instr.nearBranchTarget));
    if (name !== "") text += ` <${name}>`;
  }
  return { text, length: instr.length, valid: true };
}
