/**
 * The cases of the generated x87 guest (guests/x87-cases.c) compared with QEMU 7.2: every operation of
 * snippets.ts on the common ground QEMU shares with the hardware, plus the transcendental instructions.
 */
import { dataBlock, OPS, randomControlWord, randomF80, randomMemory, relatedF80, Rng, snippet, type F80, type OpCase } from "./snippets.js";

/**
 * QEMU 7.2 departs from the hardware (which ttd follows, as the hardware oracle test checks) in: stack
 * faults (not modelled: an empty register reads as its stale contents, a full one is overwritten),
 * unmasked exceptions (no bias-adjusted results, no suppressed stores), the precision control (QEMU
 * also applies it to loads, FRNDINT and FPREM), C1 after a rounded-up result (never set), C2 after
 * FSQRT of a negative number (set), DE (not reported for denormal operands), FSCALE of two NaNs (ST1
 * returned) and FCW's reserved bits.
 * The guest keeps to the common ground: every exception masked, 64-bit precision, operands on a stack
 * that never runs empty, and the FSW printed without DE, without C1 except where QEMU models it (FXAM,
 * FPREM; its FPREM1 reports the quotient bits before rounding the quotient) and without C2 after FSQRT.
 */
const HARDWARE_ONLY = new Set(["fldcw/fnstcw", "fld st1 (overflow)", "fadd empty"]);
const C1_MODELLED = new Set(["fxam", "fprem"]);
const qemuControlWord = (r: Rng) => 0x037f | (r.below(4) << 10);

export const TRANSCENDENTAL: (OpCase & { domain: (r: Rng) => F80 })[] = [
  { name: "fsin", core: [0xd9, 0xfe], domain: (r) => nearOne(r, 70) },
  { name: "fcos", core: [0xd9, 0xff], domain: (r) => nearOne(r, 70) },
  { name: "fsincos", core: [0xdd, 0xd9, 0xd9, 0xfb], domain: (r) => nearOne(r, 70) },
  { name: "fptan", core: [0xdd, 0xd9, 0xd9, 0xf2], domain: (r) => nearOne(r, 70) },
  { name: "fpatan", core: [0xd9, 0xf3], domain: (r) => nearOne(r, 40) },
  { name: "f2xm1", core: [0xd9, 0xf0], domain: (r) => nearOne(r, 66, -1) },
  { name: "fyl2x", core: [0xd9, 0xf1], domain: (r) => nearOne(r, 40) },
  { name: "fyl2xp1", core: [0xd9, 0xf9], domain: (r) => nearOne(r, 66, -2) },
];

function isNaN80(x: F80): boolean {
  return (x[0] & 0x7fff) === 0x7fff && ((x[1] & 0x7fffffff) !== 0 || x[2] !== 0);
}

/** Mostly finite values with exponents within `spread` of 2^top (top 0: around 1), some specials. */
function nearOne(r: Rng, spread: number, top = 0): F80 {
  if (r.below(12) === 0) return randomF80(r);
  const e = 0x3fff + top - r.below(spread) + (top === 0 ? r.below(spread >> 1) : 0);
  return [(r.below(2) << 15) | e, (r.u32() | 0x80000000) >>> 0, r.u32()];
}

export interface GuestCase { op: string; snippet: number; data: Uint8Array }

/**
 * `perOp` cases of each operation and `perTranscendental` of each transcendental one; `leaveOut` names
 * operations not wanted.
 */
export function buildCases(perOp: number, perTranscendental: number, leaveOut: ReadonlySet<string> = new Set()): { snippets: number[][]; cases: GuestCase[] } {
  const r = new Rng(0x51a7e);
  const snippets: number[][] = [];
  const cases: GuestCase[] = [];
  for (const op of OPS) {
    if (HARDWARE_ONLY.has(op.name) || leaveOut.has(op.name)) continue;
    snippets.push(snippet(op.core, op.onlyB, true));
    for (let n = 0; n < perOp; n++) {
      const a = randomF80(r);
      let b = relatedF80(r, a);
      // QEMU's FSCALE returns ST1 when both are NaNs; the hardware ranks them as for any operation.
      while (op.name === "fscale" && isNaN80(a) && isNaN80(b)) b = randomF80(r);
      const data = dataBlock(qemuControlWord(r), a, b, randomMemory(r, op.memSize ?? 0));
      data[120] = 0x02; // DE
      data[121] = (C1_MODELLED.has(op.name) ? 0 : 0x02) | (op.name === "fsqrt" ? 0x04 : 0) | (op.name === "fprem1" ? 0x41 : 0);
      cases.push({ op: op.name, snippet: snippets.length - 1, data });
    }
  }
  for (const op of perTranscendental > 0 ? TRANSCENDENTAL : []) {
    snippets.push(snippet(op.core, false, true));
    for (let n = 0; n < perTranscendental; n++) {
      const cw = r.below(3) === 0 ? randomControlWord(r) | 0x3f : 0x037f;
      const data = dataBlock(cw, op.domain(r), op.domain(r), []);
      data[120] = 0x02;
      data[121] = 0x02;
      cases.push({ op: op.name, snippet: snippets.length - 1, data });
    }
  }
  return { snippets, cases };
}

/** The guest's x87-cases.h. */
export function header(snippets: number[][], cases: GuestCase[]): string {
  const bytes = (b: ArrayLike<number>) => Array.from(b, (x) => `0x${x.toString(16)}`).join(",");
  const out = [`#define CASE_COUNT ${cases.length}`];
  snippets.forEach((s, i) => out.push(`static const u8 SNIPPET_${i}[] SNIPPET_SECTION = {${bytes(s)}};`));
  out.push(`static const u8 *const SNIPPETS[] = {${snippets.map((_, i) => `SNIPPET_${i}`).join(",")}};`);
  out.push(`static const u32 SNIPPET_LENGTH[] = {${snippets.map((s) => s.length).join(",")}};`);
  out.push(`static const u16 CASE_SNIPPET[] = {${cases.map((c) => c.snippet).join(",")}};`);
  out.push(`static const u8 CASE_DATA[][128] = {${cases.map((c) => `{${bytes(c.data)}}`).join(",\n")}};`);
  return out.join("\n") + "\n";
}

