/** Disassembly of 32-bit code for logs and views (iced-x86, AT&T syntax as objdump and gdb print it). */
import { Code, Decoder, DecoderOptions, Formatter, FormatterSyntax } from "iced-x86";

export interface Disassembly {
  /** e.g. "movl %eax,0x4(%esp)", or a note in parentheses when the bytes do not decode. */
  text: string;
  /** Instruction length in bytes (0 when it did not decode). */
  length: number;
}

let formatter: Formatter | null = null;

/** Decodes the instruction at the start of `bytes`, located at `eip`. */
export function disassemble(bytes: Uint8Array, eip: number, bits: 16 | 32 = 32): Disassembly {
  if (bytes.length === 0) return { text: "(code not readable)", length: 0 };
  const decoder = new Decoder(bits, bytes, DecoderOptions.None);
  try {
    decoder.ip = BigInt(eip >>> 0);
    const instr = decoder.decode();
    try {
      if (instr.code === Code.INVALID) {
        const shown = Array.from(bytes.subarray(0, Math.min(4, bytes.length)), (b) => b.toString(16).padStart(2, "0")).join(" ");
        return { text: bytes.length < 15 ? `(truncated: ${shown})` : `(invalid: ${shown})`, length: 0 };
      }
      if (formatter === null) {
        formatter = new Formatter(FormatterSyntax.Gas);
        // As objdump prints it: lowercase hex, "a, b" operands.
        formatter.uppercaseHex = false;
        formatter.spaceAfterOperandSeparator = true;
        formatter.branchLeadingZeros = false;
      }
      return { text: formatter.format(instr), length: instr.length };
    } finally {
      instr.free();
    }
  } finally {
    decoder.free();
  }
}
