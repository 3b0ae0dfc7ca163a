// a loop back to the block's start kept inside it; fused compare-and-branch; DEC's CF not computed (CMP overwrites it)
function block(c, r, e0) {
const mmu = c.mmu; let rb = mmu.readBit, wb = mmu.writeBit, obs = mmu.observer, wf = obs !== null ? obs.writeFilter ?? null : null;
let s = c.steps, live = true, a = 0, lin = 0, t = 0, p = 0, v = 0, x = 0, x2 = 0, n = 0;
let r1 = r[1], r3 = r[3], r4 = r[4], r7 = r[7]; let fl = c.flags, lz = c.lazy, fo = c.lfOp, fa = c.lfA, fb = c.lfB, fr = c.lfRes, fs = c.lfSize; let sb3 = 0, rb3 = 0, wb3 = 0; sb3 = sb[3]; rb3 = sfr[3] !== 0 ? rb : 0; wb3 = sfw[3] !== 0 ? wb : 0;
try {
out: for (;;) {
a = (((r3 << 2) + 1065612) | 0); lin = (sb3 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb3) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 3, a, s, e0 + 0, r4); r1 = (x) | 0;
fa = r1; fb = r7; fr = (fa - fb) | 0; fo = 2; fs = 2; lz = 2261; v = fr;
s += 2;
if (((fa >>> 0) <= (fb >>> 0))) { c.eip = (e0 + -32) | 0; c.steps = s + 1; break out; }
v = r1; a = (((r3 << 2) + 1065616) | 0); lin = (sb3 + a) | 0; t = tlb[lin >>> 12]; if ((t & wb3) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); if (obs !== null && (wf === null || !writeNoted(wf, p, 4, s + 1))) observeWrite(c, obs, s + 1, e0 + 11, lin, p, 4, v | 0); if ((p & 3) === 0) m32[p >> 2] = v; else store32(m8, p, v); } else slowWrite(c, 2, 3, a, v, s + 1, e0 + 11, r4);
x = r3;  fo = 2; fa = x; fb = 1; fr = (x - 1) | 0; fs = 2; lz = 2260; r3 = (fr) | 0;
r1 = (((r3 + 1) | 0)) | 0;
fa = r1; fb = 1; fr = (fa - fb) | 0; fo = 2; fs = 2; lz = 2261; v = fr;
s += 5;
if (!((fa | 0) <= (fb | 0))) { s++; if (s + 48 <= c.stepLimit) continue; c.eip = e0; c.steps = s; break out; }
r3 = (0) | 0; fo = 4; fa = 0; fb = 0; fr = 0; fs = 2; lz = 2261;

c.eip = (e0 + -32) | 0; c.steps = s + 3; break out;
}
r[1] = r1; r[3] = r3; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs;
} catch (e) { if (live) { r[1] = r1; r[3] = r3; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; } throw e; }
}
