// BSF and BT run their table handlers on the CPU's own state, with the locals stored before and reloaded after
function block(c, r, e0) {
const mmu = c.mmu; let rb = mmu.readBit, wb = mmu.writeBit, obs = mmu.observer, wf = obs !== null ? obs.writeFilter ?? null : null;
let s = c.steps, live = true, a = 0, lin = 0, t = 0, p = 0, v = 0, x = 0, x2 = 0, n = 0;
let r0 = r[0], r3 = r[3], r4 = r[4]; let fl = c.flags, lz = c.lazy, fo = c.lfOp, fa = c.lfA, fb = c.lfB, fr = c.lfRes, fs = c.lfSize; let sb2 = 0, rb2 = 0, wb2 = 0; sb2 = sb[2]; rb2 = sfr[2] !== 0 ? rb : 0; wb2 = sfw[2] !== 0 ? wb : 0;
try {
out: for (;;) {
r[0] = r0; r[3] = r3; r[4] = r4; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; c.steps = s; c.instrEip = (e0 + 0) | 0; c.instrEsp = r4; live = false; c.eip = (e0 + 2) | 0; c.o32 = true; c.a32 = true; c.segOverride = -1; c.repPrefix = 0; c.lock = false; H[0](c); c.steps++;
live = true; r0 = r[0]; r3 = r[3]; r4 = r[4]; fl = c.flags; lz = c.lazy; fo = c.lfOp; fa = c.lfA; fb = c.lfB; fr = c.lfRes; fs = c.lfSize; rb = mmu.readBit; wb = mmu.writeBit; obs = mmu.observer; wf = obs !== null ? obs.writeFilter ?? null : null; sb2 = sb[2]; rb2 = sfr[2] !== 0 ? rb : 0; wb2 = sfw[2] !== 0 ? wb : 0; s = c.steps; if (c.eip !== ((e0 + 3) | 0)) return;
x = r0; if ((lz & 1) !== 0) { fl = cfOf(fo, fa, fb, fr, fs) ? fl | 1 : fl & -2; lz &= -2; } fo = 0; fa = x; fb = 1; fr = (x + 1) | 0; fs = 2; lz = 2260; r0 = (fr) | 0;
r[0] = r0; r[3] = r3; r[4] = r4; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; c.steps = s + 1; c.instrEip = (e0 + 4) | 0; c.instrEsp = r4; live = false; c.eip = (e0 + 6) | 0; c.o32 = true; c.a32 = true; c.segOverride = -1; c.repPrefix = 0; c.lock = false; H[1](c); c.steps++;
live = true; r0 = r[0]; r3 = r[3]; r4 = r[4]; fl = c.flags; lz = c.lazy; fo = c.lfOp; fa = c.lfA; fb = c.lfB; fr = c.lfRes; fs = c.lfSize; rb = mmu.readBit; wb = mmu.writeBit; obs = mmu.observer; wf = obs !== null ? obs.writeFilter ?? null : null; sb2 = sb[2]; rb2 = sfr[2] !== 0 ? rb : 0; wb2 = sfw[2] !== 0 ? wb : 0; s = c.steps; if (c.eip !== ((e0 + 7) | 0)) return;
x = r3; if ((lz & 1) !== 0) { fl = cfOf(fo, fa, fb, fr, fs) ? fl | 1 : fl & -2; lz &= -2; } fo = 2; fa = x; fb = 1; fr = (x - 1) | 0; fs = 2; lz = 2260; r3 = (fr) | 0;
a = r4; lin = (sb2 + a) | 0; t = tlb[lin >>> 12]; if ((t & rb2) !== 0 && (lin & 4095) <= 4092) { p = (t & -4096) | (lin & 4095); x = ((p & 3) === 0 ? m32[p >> 2] : load32(m8, p)); } else x = slowRead(c, 2, 2, a, s + 1, e0 + 8, r4); r4 = ((r4 + 4) | 0) | 0;
c.eip = x; c.steps = s + 2; break out;
}
r[0] = r0; r[3] = r3; r[4] = r4; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs;
} catch (e) { if (live) { r[0] = r0; r[3] = r3; r[4] = r4; c.flags = fl; c.lazy = lz; c.lfOp = fo; c.lfA = fa; c.lfB = fb; c.lfRes = fr; c.lfSize = fs; } throw e; }
}
