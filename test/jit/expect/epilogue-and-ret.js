// pops through the inline read path; RET's target read from the stack
function block(c, r, e0) {
const mmu = c.mmu; let rb = mmu.readBit, wb = mmu.writeBit, obs = mmu.observer, wf = obs !== null ? obs.writeFilter ?? null : null;
let s = c.steps, live = true, a = 0, lin = 0, t = 0, p = 0, v = 0, x = 0, x2 = 0, n = 0;
let r0 = r[0], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7]; let fl = c.flags, lz = c.lazy, fo = c.lfOp, fa = c.lfA, fb = c.lfB, fr = c.lfRes, fs = c.lfSize; let sb2 = 0, rb2 = 0, wb2 = 0; sb2 = sb[2]; rb2 = sfr[2] !== 0 ? rb : 0; wb2 = sfw[2] !== 0 ? wb : 0;
try {
out: for (;;) {
fa = r7; fb = r6; fr = (fa + fb) | 0; fo = 0; fs = 2; lz = 2261; v = fr; r7 = (v) | 0;
r0 = (r7) | 0;
a = r4; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 2, a, s + 2, e0 + 4, r4); r4 = ((r4 + 4) | 0) | 0; r6 = (x) | 0;
a = r4; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 2, a, s + 3, e0 + 5, r4); r4 = ((r4 + 4) | 0) | 0; r7 = (x) | 0;
a = r4; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 2, a, s + 4, e0 + 6, r4); r4 = ((r4 + 4) | 0) | 0; r5 = (x) | 0;
a = r4; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 2, a, s + 5, e0 + 7, r4); r4 = ((r4 + 4) | 0) | 0;
c.eip = x; c.steps = s + 6; break out;
}
r[0] = r0; r[4] = r4; r[5] = r5; r[6] = r6; r[7] = r7; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs;
} catch (e) { if (live) { r[0] = r0; r[4] = r4; r[5] = r5; r[6] = r6; r[7] = r7; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; } throw e; }
}
