/**
 * Random x87 instruction sequences on random operands (special values included), compared with QEMU 7.2
 * through a generated guest (guests/x87-cases.c): each case loads four values, runs a random sequence of
 * register, memory, compare, conditional-move, constant and stack instructions, and stores what is left
 * on the stack. The generator keeps to the ground QEMU models as the hardware does (see
 * qemu-guest.test.ts): exceptions masked, 64-bit precision, a stack that never under- or overflows, no
 * transcendental instruction, no FPREM1 (QEMU reports other quotient bits), no FSQRT of a negative
 * number (QEMU rewrites C0-C3); the FSW is printed without C1 and DE.
 *
 * Block layout (EBX): 0 control word, 2 0x037F, 4..8 an int32/float32 store destination, 8..16 a float64
 * operand, 16..96 eight 80-bit slots (inputs, then the final stack), 96..104 a float64 destination,
 * 104..108 an int32 operand, 112 FSW, 114..115 FSW masks, 116 AH after LAHF.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCGuest, canBuildC, hasQemu, runQemu, runTtd } from "../machine/c-guests.js";
import { mem, randomF80, Rng, type F80 } from "./snippets.js";

const SEQUENCES = Number(process.env.X87_SEQUENCES ?? 400);
const LENGTH = 24;

/** One instruction: its bytes and its effect on the stack depth; `need` is the depth it requires. */
interface Op { bytes: number[]; need: number; delta: number }

function randomOp(r: Rng, depth: number): Op {
  const i = 1 + r.below(Math.max(1, depth - 1)); // an ST(i) that holds a value
  for (;;) {
    switch (r.below(22)) {
      case 0: return { bytes: [0xd8, 0xc0 | (r.pick([0, 1, 4, 5, 6, 7]) << 3) | i], need: i + 1, delta: 0 }; // D8 arithmetic
      case 1: return { bytes: [0xdc, 0xc0 | (r.pick([0, 1, 4, 5, 6, 7]) << 3) | i], need: i + 1, delta: 0 };
      case 2: if (depth > 2) return { bytes: [0xde, 0xc0 | (r.pick([0, 1, 4, 5, 6, 7]) << 3) | i], need: i + 1, delta: -1 }; break;
      case 3: if (depth < 8) return { bytes: [0xd9, 0xc0 | r.below(depth)], need: 1, delta: 1 }; break; // FLD ST(i)
      case 4: return { bytes: [0xd9, 0xc8 | i], need: i + 1, delta: 0 }; // FXCH
      case 5: return { bytes: [0xdd, 0xd0 | i], need: i + 1, delta: 0 }; // FST ST(i)
      case 6: if (depth > 2) return { bytes: [0xdd, 0xd8 | i], need: i + 1, delta: -1 }; break; // FSTP ST(i)
      case 7: return { bytes: [0xd9, r.pick([0xe0, 0xe1, 0xfc])], need: 1, delta: 0 }; // FCHS FABS FRNDINT
      case 21: return { bytes: [0xd9, 0xe1, 0xd9, 0xfa], need: 1, delta: 0 }; // FABS; FSQRT (QEMU rewrites C0-C3 for a negative one)
      case 8: return { bytes: [0xd9, r.pick([0xf8, 0xfd])], need: 2, delta: 0 }; // FPREM FSCALE
      case 9: if (depth < 8) return { bytes: [0xd9, 0xe8 + r.pick([0, 1, 2, 3, 4, 5, 6])], need: 0, delta: 1 }; break; // constants
      case 10: return { bytes: [0xd8, 0xd0 | i], need: i + 1, delta: 0 }; // FCOM
      case 11: return { bytes: [0xdb, r.pick([0xe8, 0xf0]) | i], need: i + 1, delta: 0 }; // FUCOMI FCOMI
      case 12: return { bytes: [r.pick([0xda, 0xdb]), 0xc0 | (r.below(4) << 3) | i], need: i + 1, delta: 0 }; // FCMOVcc
      case 13: return { bytes: [...mem(0xdc, r.pick([0, 1, 4, 5, 6, 7]), 8)], need: 1, delta: 0 }; // arith m64
      case 14: return { bytes: [...mem(0xd8, r.pick([0, 1, 4, 5, 6, 7]), 4)], need: 1, delta: 0 }; // arith m32 (the int32 slot read as float)
      case 15: return { bytes: [...mem(0xda, r.pick([0, 1, 4, 5, 6, 7]), 104)], need: 1, delta: 0 }; // arith m32int
      case 16: if (depth < 8) return { bytes: mem(0xdd, 0, 8), need: 0, delta: 1 }; break; // FLD m64
      case 17: return { bytes: mem(0xdd, 2, 96), need: 1, delta: 0 }; // FST m64
      case 18: {
        const reg = r.pick([1, 2]); // FISTTP (pops) or FIST
        if (reg === 2 || depth > 2) return { bytes: mem(0xdb, reg, 4), need: 1, delta: reg === 1 ? -1 : 0 };
        break;
      }
      case 19: if (depth > 2) return { bytes: mem(0xdb, 3, 4), need: 1, delta: -1 }; break; // FISTP m32
      case 20: if (depth < 8) return { bytes: mem(0xda + 1, 0, 104), need: 0, delta: 1 }; break; // FILD m32
    }
  }
}

interface Sequence { code: number[]; data: Uint8Array; count: number }

function buildSequence(r: Rng): Sequence {
  const code: number[] = [0x31, 0xc0, 0xdb, 0xe3, ...mem(0xd9, 5, 0)];
  for (let k = 3; k >= 0; k--) code.push(...mem(0xdb, 5, 16 + 10 * k));
  let depth = 4, count = 0;
  while (count < LENGTH) {
    const op = randomOp(r, depth);
    const delta = op.delta;
    if (op.need > depth || depth + delta < 2 || depth + delta > 8) continue;
    code.push(...op.bytes);
    depth += delta;
    count++;
  }
  code.push(0x9f, 0x88, 0x63, 116, ...mem(0xdd, 7, 112), 0xdb, 0xe2, ...mem(0xd9, 5, 2));
  for (let k = 0; k < depth; k++) code.push(...mem(0xdb, 7, 16 + 10 * k));
  code.push(0xc3);
  const data = new Uint8Array(128);
  const v = new DataView(data.buffer);
  v.setUint16(0, 0x037f | (r.below(4) << 10), true);
  v.setUint16(2, 0x037f, true);
  for (let k = 0; k < 8; k++) {
    const x: F80 = randomF80(r);
    v.setUint32(16 + 10 * k, x[2], true);
    v.setUint32(20 + 10 * k, x[1], true);
    v.setUint16(24 + 10 * k, x[0], true);
  }
  for (const off of [4, 8, 12, 104]) v.setUint32(off, r.below(4) === 0 ? r.pick([0, 0x80000000, 0x7ff00000, 0x3ff00000, 1]) : r.u32(), true);
  data[114] = 0x02; // DE
  data[115] = 0x02; // C1
  return { code, data, count };
}

describe.skipIf(!canBuildC)("random x87 sequences against QEMU 7.2", () => {
  const dir = mkdtempSync(join(tmpdir(), "ttd-x87-seq-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasQemu)("leave the stack and status QEMU leaves", () => {
    const r = new Rng(0x5e9);
    const seqs = Array.from({ length: SEQUENCES }, () => buildSequence(r));
    const bytes = (b: ArrayLike<number>) => Array.from(b, (x) => `0x${x.toString(16)}`).join(",");
    const h = [
      `#define CASE_COUNT ${seqs.length}`,
      "#define PRINT_FROM 4", "#define PRINT_TO 118", "#define FSW_AT 112", "#define MASK_AT 114",
      ...seqs.map((s, i) => `static const u8 SNIPPET_${i}[] SNIPPET_SECTION = {${bytes(s.code)}};`),
      `static const u8 *const SNIPPETS[] = {${seqs.map((_, i) => `SNIPPET_${i}`).join(",")}};`,
      `static const u32 SNIPPET_LENGTH[] = {${seqs.map((s) => s.code.length).join(",")}};`,
      `static const u16 CASE_SNIPPET[] = {${seqs.map((_, i) => i).join(",")}};`,
      `static const u8 CASE_DATA[][128] = {${seqs.map((s) => `{${bytes(s.data)}}`).join(",\n")}};`,
    ];
    writeFileSync(join(dir, "x87-cases.h"), h.join("\n") + "\n");
    const elf = buildCGuest("x87-cases", { includeDir: dir });
    const qemu = runQemu(elf).stdout.split("\n");
    const ttd = runTtd(elf).serial.split("\n");
    const instructions = seqs.reduce((n, s) => n + s.count, 0);
    const differing = seqs.map((_, i) => i).filter((i) => qemu[i] !== ttd[i]);
    console.log(`random x87 sequences vs QEMU: ${seqs.length - differing.length} of ${seqs.length} sequences (${instructions} instructions) equal`);
    const first = differing[0];
    expect(first === undefined ? "" : `sequence ${first}: ${bytes(seqs[first].code)}\n qemu ${qemu[first]}\n ttd  ${ttd[first]}`).toBe("");
    expect(qemu.length).toBe(seqs.length + 1);
  }, 600_000);
});
