/**
 * The block compiler's generated JS for a handful of blocks, kept in test/jit/expect/ (as an emulator
 * keeps the expected output of its code generator), so that a change to what the compiler emits shows
 * up in review as a diff of these files. The differential tests check that generated code behaves as
 * the interpreter; these check what it looks like: registers and flags in locals, the inline TLB fast
 * path, CF made eager only when read, loops kept inside the block.
 *
 * After an intended change to the compiler: TTD_UPDATE_EXPECT=1 npx vitest run test/jit/generated-code.test.ts
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileBlock } from "../../src/cpu/jit/compile-block.js";

const EXPECT_DIR = join(import.meta.dirname, "expect");
const UPDATE = process.env.TTD_UPDATE_EXPECT === "1";

/** Blocks by name: their bytes (at physical 0x1000, 32-bit code and stack) and what they show. */
const BLOCKS: { name: string; bytes: number[]; shows: string }[] = [
  {
    name: "insertion-sort-inner-loop",
    shows: "a loop back to the block's start kept inside it; fused compare-and-branch; DEC's CF not computed (CMP overwrites it)",
    bytes: [
      0x8b, 0x0c, 0x9d, 0x8c, 0x42, 0x10, 0x00, // mov 0x10428c(,%ebx,4),%ecx
      0x39, 0xf9, //                               cmp %edi,%ecx
      0x76, 0xd5, //                               jbe (out of the block)
      0x89, 0x0c, 0x9d, 0x90, 0x42, 0x10, 0x00, // mov %ecx,0x104290(,%ebx,4)
      0x4b, //                                     dec %ebx
      0x8d, 0x4b, 0x01, //                         lea 0x1(%ebx),%ecx
      0x83, 0xf9, 0x01, //                         cmp $0x1,%ecx
      0x7f, 0xe5, //                               jg (the block's start)
      0x31, 0xdb, //                               xor %ebx,%ebx
      0xeb, 0xc1, //                               jmp (out of the block)
    ],
  },
  {
    name: "prologue-and-call",
    shows: "pushes through the inline write path; a forward branch leaving the block; CALL",
    bytes: [
      0x55, 0x89, 0xe5, 0x57, 0x56, // push %ebp; mov %esp,%ebp; push %edi; push %esi
      0x89, 0xce, 0x31, 0xff, //       mov %ecx,%esi; xor %edi,%edi
      0x83, 0xf9, 0x02, 0x72, 0x14, // cmp $0x2,%ecx; jb +0x14
      0x31, 0xff, 0x8d, 0x4e, 0xff, // xor %edi,%edi; lea -0x1(%esi),%ecx
      0xe8, 0xe8, 0xff, 0xff, 0xff, // call (back to the start)
    ],
  },
  {
    name: "epilogue-and-ret",
    shows: "pops through the inline read path; RET's target read from the stack",
    bytes: [0x01, 0xf7, 0x89, 0xf8, 0x5e, 0x5f, 0x5d, 0xc3], // add %esi,%edi; mov %edi,%eax; pop x3; ret
  },
  {
    name: "read-modify-write-and-shifts",
    shows: "a read-modify-write (one TLB lookup, write checked before flags change); SHL by a constant; SAR by CL with its zero-count guard; ADC reading the carry INC kept",
    bytes: [
      0x01, 0x03, //       add %eax,(%ebx)
      0xc1, 0xe1, 0x03, // shl $3,%ecx
      0xd3, 0xfa, //       sar %cl,%edx
      0x46, //             inc %esi
      0x11, 0xf0, //       adc %esi,%eax
      0xc3, //             ret
    ],
  },
  {
    name: "handler-in-place",
    shows: "BSF and BT run their table handlers on the CPU's own state, with the locals stored before and reloaded after",
    bytes: [0x0f, 0xbc, 0xc1, 0x40, 0x0f, 0xa3, 0xc3, 0x4b, 0xc3], // bsf %ecx,%eax; inc %eax; bt %eax,%ebx; dec %ebx; ret
  },
  {
    name: "word-and-byte-registers",
    shows: "16-bit and high-byte registers as parts of the 32-bit locals",
    bytes: [0x66, 0x01, 0xd8, 0x88, 0xe1, 0x80, 0xc4, 0x05, 0xc3], // add %bx,%ax; mov %ah,%cl; add $5,%ah; ret
  },
];

describe("generated code of the block compiler", () => {
  it.each(BLOCKS.map((b) => [b.name, b] as const))("%s", (name, b) => {
    const mem = new Uint8Array(0x3000);
    mem.set(b.bytes, 0x1000);
    const code = compileBlock(mem, 0x1000, true, true).fn.toString();
    const text = `// ${b.shows}\n${code}\n`;
    const file = join(EXPECT_DIR, `${name}.js`);
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE) throw new Error(`${file} is missing: run with TTD_UPDATE_EXPECT=1 to write it`);
      writeFileSync(file, text);
      return;
    }
    expect(text).toBe(readFileSync(file, "utf8"));
  });
});
