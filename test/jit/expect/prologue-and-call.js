// pushes through the inline write path; a forward branch leaving the block; CALL
function block(c, r, e0) {
const mmu = c.mmu; let rb = mmu.readBit, wb = mmu.writeBit, obs = mmu.observer, wf = obs !== null ? obs.writeFilter ?? null : null;
let s = c.steps, live = true, a = 0, lin = 0, t = 0, p = 0, v = 0, x = 0, x2 = 0, n = 0;
let r1 = r[1], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7]; let fl = c.flags, lz = c.lazy, fo = c.lfOp, fa = c.lfA, fb = c.lfB, fr = c.lfRes, fs = c.lfSize; let sb2 = 0, rb2 = 0, wb2 = 0; sb2 = sb[2]; rb2 = sfr[2] !== 0 ? rb : 0; wb2 = sfw[2] !== 0 ? wb : 0;
try {
out: for (;;) {
v = r5; a = (r4 - 4) | 0; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & wb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); if (obs !== null && (wf === null || !writeNoted(wf, p, 4, s))) observeWrite(c, obs, s, e0 + 0, lin, p, 4, v | 0); if ((p & 3) === 0) m32[p >> 2] = v; else store32(m8, p, v); } else slowWrite(c, 2, 2, a, v, s, e0 + 0, r4); r4 = (a) | 0;
r5 = (r4) | 0;
v = r7; a = (r4 - 4) | 0; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & wb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); if (obs !== null && (wf === null || !writeNoted(wf, p, 4, s + 2))) observeWrite(c, obs, s + 2, e0 + 3, lin, p, 4, v | 0); if ((p & 3) === 0) m32[p >> 2] = v; else store32(m8, p, v); } else slowWrite(c, 2, 2, a, v, s + 2, e0 + 3, r4); r4 = (a) | 0;
v = r6; a = (r4 - 4) | 0; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & wb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); if (obs !== null && (wf === null || !writeNoted(wf, p, 4, s + 3))) observeWrite(c, obs, s + 3, e0 + 4, lin, p, 4, v | 0); if ((p & 3) === 0) m32[p >> 2] = v; else store32(m8, p, v); } else slowWrite(c, 2, 2, a, v, s + 3, e0 + 4, r4); r4 = (a) | 0;
r6 = (r1) | 0;
r7 = (0) | 0; fo = 4; fa = 0; fb = 0; fr = 0; fs = 2; lz = 2261;
fa = r1; fb = 2; fr = (fa - fb) | 0; fo = 2; fs = 2; lz = 2261; v = fr;
s += 7;
if (((fa >>> 0) < (fb >>> 0))) { c.eip = (e0 + 34) | 0; c.steps = s + 1; break out; }
r7 = (0) | 0; fo = 4; fa = 0; fb = 0; fr = 0; fs = 2; lz = 2261;
r1 = (((r6 + -1) | 0)) | 0;
v = (e0 + 24) | 0; a = (r4 - 4) | 0; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & wb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); if (obs !== null && (wf === null || !writeNoted(wf, p, 4, s + 3))) observeWrite(c, obs, s + 3, e0 + 19, lin, p, 4, v | 0); if ((p & 3) === 0) m32[p >> 2] = v; else store32(m8, p, v); } else slowWrite(c, 2, 2, a, v, s + 3, e0 + 19, r4); r4 = (a) | 0;
c.eip = (e0 + 0) | 0; c.steps = s + 4; break out;
}
r[1] = r1; r[4] = r4; r[5] = r5; r[6] = r6; r[7] = r7; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs;
} catch (e) { if (live) { r[1] = r1; r[4] = r4; r[5] = r5; r[6] = r6; r[7] = r7; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; } throw e; }
}
