// Instructions the block compiler has no inline form for run their instruction-table handler inside
// the compiled block, which goes on after them (compile-block.ts, emitHandlerCall). Random programs
// that interleave such instructions with inline-compiled ones must leave exactly the interpreter's
// registers, flags, memory, step count and fault state, whatever step limits cut the runs.
import { describe, expect, it } from "vitest";
import { compileBlock } from "../../src/cpu/jit/compile-block.js";
import { disagreements } from "./harness.js";

/**
 * Handler-run instructions (each with a ModRM or immediate slot filled at random when `operands` > 0):
 * bit scans and tests, double shifts, CMPXCHG/XADD, BCD, flag instructions, 16-bit stack and branch
 * forms, LOOP/JECXZ, ENTER/LEAVE, PUSHA/POPA, XLAT, LOCK'd read-modify-writes, BOUND and AAM (which
 * can fault), CPUID, and string instructions (which end their block).
 */
const HANDLED: { bytes: number[]; operands: number }[] = [
  { bytes: [0x0f, 0xbc], operands: 1 }, { bytes: [0x0f, 0xbd], operands: 1 }, { bytes: [0x0f, 0xa3], operands: 1 },
  { bytes: [0x0f, 0xab], operands: 1 }, { bytes: [0x0f, 0xba], operands: 2 }, { bytes: [0x0f, 0xa4], operands: 2 },
  { bytes: [0x0f, 0xad], operands: 1 }, { bytes: [0x0f, 0xb1], operands: 1 }, { bytes: [0x0f, 0xc1], operands: 1 },
  { bytes: [0x0f, 0xb0], operands: 1 }, { bytes: [0x27], operands: 0 }, { bytes: [0x2f], operands: 0 }, { bytes: [0x37], operands: 0 },
  { bytes: [0xf5], operands: 0 }, { bytes: [0xf8], operands: 0 }, { bytes: [0xf9], operands: 0 }, { bytes: [0x9e], operands: 0 },
  { bytes: [0x9f], operands: 0 }, { bytes: [0xfc], operands: 0 }, { bytes: [0x66, 0x50], operands: 0 }, { bytes: [0x66, 0x5b], operands: 0 },
  { bytes: [0x66, 0x68], operands: 2 }, { bytes: [0x66, 0x74], operands: 1 }, { bytes: [0xe2], operands: 1 }, { bytes: [0xe3], operands: 1 },
  { bytes: [0xc8, 0x08, 0x00, 0x00], operands: 0 }, { bytes: [0xc9], operands: 0 }, { bytes: [0x60], operands: 0 }, { bytes: [0x61], operands: 0 },
  { bytes: [0xd7], operands: 0 }, { bytes: [0xf0, 0x01], operands: 1 }, { bytes: [0xf0, 0x90], operands: 0 }, { bytes: [0x62], operands: 1 },
  { bytes: [0xd4], operands: 1 }, { bytes: [0x0f, 0xa2], operands: 0 }, { bytes: [0xa5], operands: 0 }, { bytes: [0xf3, 0xab], operands: 0 },
  { bytes: [0x13], operands: 1 }, { bytes: [0x1b], operands: 1 }, { bytes: [0x66, 0x0f, 0xbe], operands: 1 }, { bytes: [0xd6], operands: 0 },
];
/** Inline-compiled instructions between them: ALU, MOV, INC/DEC, PUSH/POP, LEA, TEST, SETcc. */
const INLINE: { bytes: number[]; operands: number }[] = [
  { bytes: [0x01], operands: 1 }, { bytes: [0x29], operands: 1 }, { bytes: [0x31], operands: 1 }, { bytes: [0x89], operands: 1 },
  { bytes: [0x8b], operands: 1 }, { bytes: [0x40], operands: 0 }, { bytes: [0x4b], operands: 0 }, { bytes: [0x52], operands: 0 },
  { bytes: [0x5a], operands: 0 }, { bytes: [0x8d], operands: 1 }, { bytes: [0x85], operands: 1 }, { bytes: [0x0f, 0x94], operands: 1 },
  { bytes: [0x83], operands: 2 }, { bytes: [0xb9], operands: 4 },
];

function program(next: () => number, length: number): Uint8Array {
  const out: number[] = [];
  while (out.length < length) {
    const list = next() % 2 === 0 ? HANDLED : INLINE;
    const t = list[next() % list.length];
    out.push(...t.bytes);
    if (t.operands > 0) {
      // ModRM: a register, or [reg+disp8] around the data area the harness points registers at.
      const modrm = next() % 3 === 0 ? 0xc0 | (next() & 0x3f) : 0x40 | (next() & 0x3f);
      out.push(modrm);
      if ((modrm & 0xc7) === 0x44) out.push(next() & 0xff); // SIB
      for (let i = 1; i < t.operands + ((modrm >> 6) === 1 ? 1 : 0); i++) out.push(next() & 0xff);
    }
  }
  return Uint8Array.from(out.slice(0, length));
}

describe("table handlers called in place by compiled blocks", () => {
  it("a block goes on past a handler-run instruction", () => {
    // bsf %ecx, %eax; inc %eax; bt %eax, %ebx; dec %ebx; ret
    const mem = Uint8Array.from([0x0f, 0xbc, 0xc1, 0x40, 0x0f, 0xa3, 0xc3, 0x4b, 0xc3]);
    const block = compileBlock(mem, 0, true);
    expect(block.count).toBe(5);
    expect(block.physEnd).toBe(mem.length);
  });

  it("runs random mixes of handler-run and inline instructions as the interpreter does", () => {
    const { count, first } = disagreements(600, (next) => program(next, 200), 300);
    expect(first).toBe("");
    expect(count).toBe(0);
  });
});
