// a read-modify-write (one TLB lookup, write checked before flags change); SHL by a constant; SAR by CL with its zero-count guard; ADC reading the carry INC kept
function block(c, r, e0) {
const mmu = c.mmu; let rb = mmu.readBit, wb = mmu.writeBit, obs = mmu.observer, wf = obs !== null ? obs.writeFilter ?? null : null;
let s = c.steps, live = true, a = 0, lin = 0, t = 0, p = 0, v = 0, x = 0, x2 = 0, n = 0;
let r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r6 = r[6]; let fl = c.flags, lz = c.lazy, fo = c.lfOp, fa = c.lfA, fb = c.lfB, fr = c.lfRes, fs = c.lfSize; let sb2 = 0, rb2 = 0, wb2 = 0, sb3 = 0, rb3 = 0, wb3 = 0; sb2 = sb[2]; rb2 = sfr[2] !== 0 ? rb : 0; wb2 = sfw[2] !== 0 ? wb : 0; sb3 = sb[3]; rb3 = sfr[3] !== 0 ? rb : 0; wb3 = sfw[3] !== 0 ? wb : 0;
try {
out: for (;;) {
a = r3; lin = (sb3 + a) | 0; t = tlb[lin >>> 12]; if ((t & wb3) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); fa = x; fb = r0; fr = (fa + fb) | 0; fo = 0; fs = 2; lz = 2261; v = fr; if (obs !== null && (wf === null || !writeNoted(wf, p, 4, s))) observeWrite(c, obs, s, e0 + 0, lin, p, 4, v | 0); if ((p & 3) === 0) m32[p >> 2] = v; else store32(m8, p, v); } else { x = slowModify(c, 2, 3, a, s, e0 + 0, r4); fa = x; fb = r0; fr = (fa + fb) | 0; fo = 0; fs = 2; lz = 2261; v = fr; c.writeMem32(3, a, v); }
x = r1; v = x << 3; fo = 4; fa = 0; fb = 0; fr = v; fs = 2; lz = 212; fl = (fl & -2050) | ((x >>> (32 - 3)) & 1) | ((((v >>> 31) ^ (x >>> (32 - 3))) & 1) << 11); r1 = (v) | 0;
n = (r1 & 0xff) & 31; x = r2; if (n !== 0) { v = x >> n; fo = 4; fa = 0; fb = 0; fr = v; fs = 2; lz = 212; fl = (fl & -2050) | ((x >> (n - 1)) & 1) | ((0) << 11); } else v = x; r2 = (v) | 0;
x = r6; if ((lz & 1) !== 0) { fl = cfOf(fo, fa, fb, fr, fs) ? fl | 1 : fl & -2; lz &= -2; } fo = 0; fa = x; fb = 1; fr = (x + 1) | 0; fs = 2; lz = 2260; r6 = (fr) | 0;
x2 = carryOf(fl, lz, fo, fa, fb, fr, fs) ? 1 : 0; fa = r0; fb = r6; fr = (fa + fb + x2) | 0; fo = x2; fs = 2; lz = 0x8d5; v = fr; r0 = (v) | 0;
a = r4; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 2, a, s + 5, e0 + 10, r4); r4 = ((r4 + 4) | 0) | 0;
c.eip = x; c.steps = s + 6; break out;
}
r[0] = r0; r[1] = r1; r[2] = r2; r[4] = r4; r[6] = r6; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs;
} catch (e) { if (live) { r[0] = r0; r[1] = r1; r[2] = r2; r[4] = r4; r[6] = r6; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; } throw e; }
}
