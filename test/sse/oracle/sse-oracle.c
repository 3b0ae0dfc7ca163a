/*
 * Host oracle for the SSE floating-point lanes: runs scalar SSE/SSE2 instructions on this (x86-64)
 * host under every rounding mode with and without DAZ/FTZ (all exceptions masked), on random and
 * special operands, and prints one line per case:
 *   <op> <mxcsr> <a> <b> <result> <flags>
 * all hex; a and b are 8 or 16 digits (single or double operand), result likewise (EFLAGS for the
 * comparisons into EFLAGS), flags the six MXCSR exception flags afterwards. Usage: sse-oracle <n> <seed>
 */
#include <emmintrin.h>
#include "oracle.h"

static const u32 S_SPECIAL[] = {
  0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xff900000,
  1, 0x807fffff, 0x007fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x00400000, 0x3fc00000, 0x40200000,
  0x3f000000, 0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001, 0x3effffff, 0x3f7fffff, 0x00000003, 0x00800001,
};
static const u64 D_SPECIAL[] = {
  0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull, 0x7ff0000000000000ull,
  0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000001ull, 0x7ff0000000000001ull, 0xfff4000000000000ull,
  1, 0x800fffffffffffffull, 0x000fffffffffffffull, 0x0010000000000000ull, 0x8010000000000000ull,
  0x7fefffffffffffffull, 0xffefffffffffffffull, 0x0008000000000000ull, 0x3ff8000000000000ull, 0x4004000000000000ull,
  0x3fe0000000000000ull, 0x41e0000000000000ull, 0xc1e0000000000000ull, 0x41dfffffffc00000ull, 0xc1e0000000200000ull,
  0x41dfffffffffffffull, 0x3fefffffffffffffull, 0x47efffffe0000000ull, 0x47efffffffffffffull, 0x36a0000000000000ull,
  0x3690000000000000ull, 0x380fffffffffffffull, 0x3810000000000000ull,
};

static u32 gen32(u32 other, int have_other) {
  u32 r = (u32)next();
  switch (next() % 9) {
    case 0: return S_SPECIAL[next() % (sizeof S_SPECIAL / 4)];
    case 1: return r;
    case 2: return (r & 0x807fffff) | ((120 + (u32)(next() % 16)) << 23);           /* near 1 */
    case 3: return (r & 0x807fffff) | ((u32)(next() % 4) << 23);                    /* denormal and tiny */
    case 4: return (r & 0x807fffff) | ((250 + (u32)(next() % 5)) << 23);            /* huge */
    case 5: if (have_other) return other ^ 0x80000000 ^ (r & 0xff);                    /* cancellation */
            return r;
    case 6: if (have_other) return (other & 0x807fffff) | (((other >> 23) & 0xff) + (u32)(next() % 60) - 30) % 255 << 23;
            return r;
    case 7: return (r & 0x807fffff) | ((20 + (u32)(next() % 30)) << 23);             /* small normals */
    default: return (r & 0x80000000) | ((u32)(next() % 0x7f000000) & 0x7fffffff);
  }
}

static u64 gen64(u64 other, int have_other) {
  u64 r = next();
  switch (next() % 9) {
    case 0: return D_SPECIAL[next() % (sizeof D_SPECIAL / 8)];
    case 1: return r;
    case 2: return (r & 0x800fffffffffffffull) | ((u64)(1016 + next() % 16) << 52);
    case 3: return (r & 0x800fffffffffffffull) | ((u64)(next() % 4) << 52);
    case 4: return (r & 0x800fffffffffffffull) | ((u64)(2040 + next() % 6) << 52);
    case 5: if (have_other) return other ^ 0x8000000000000000ull ^ (r & 0xfff);
            return r;
    case 6: if (have_other) return (other & 0x800fffffffffffffull) | ((((other >> 52) & 0x7ff) + next() % 120 - 60) % 2047) << 52;
            return r;
    case 7: return (r & 0x800fffffffffffffull) | ((u64)(896 + next() % 20) << 52); /* single's edges */
    default: return (r & 0x800fffffffffffffull) | ((u64)(next() % 2047) << 52);
  }
}

#define F32(x) _mm_castsi128_ps(_mm_cvtsi32_si128((int)(x)))
#define F64(x) _mm_castsi128_pd(_mm_cvtsi64_si128((long long)(x)))
#define LOW32(v) ((u32)_mm_cvtsi128_si32(_mm_castps_si128(v)))
#define LOW64(v) ((u64)_mm_cvtsi128_si64(_mm_castpd_si128(v)))

/* Runs `insn b, a` under `csr` with a and b in XMM registers; the flags after it in *out. */
#define RUN_PS(insn) asm volatile("ldmxcsr %[c]\n\t" insn " %[b], %[a]\n\tstmxcsr %[o]" : [a] "+x"(va), [o] "=m"(out) : [b] "x"(vb), [c] "m"(csr))
#define RUN_PD(insn) asm volatile("ldmxcsr %[c]\n\t" insn " %[b], %[a]\n\tstmxcsr %[o]" : [a] "+x"(wa), [o] "=m"(out) : [b] "x"(wb), [c] "m"(csr))
#define RUN_EFL(insn, A, B) asm volatile("ldmxcsr %[c]\n\t" insn " %[b], %[a]\n\tpushfq\n\tpopq %[e]\n\tstmxcsr %[o]" : [e] "=r"(efl), [o] "=m"(out) : [a] "x"(A), [b] "x"(B), [c] "m"(csr) : "cc")
#define RUN_TOINT(insn, B) asm volatile("ldmxcsr %[c]\n\t" insn " %[b], %[r]\n\tstmxcsr %[o]" : [r] "=r"(ires), [o] "=m"(out) : [b] "x"(B), [c] "m"(csr))

static const char *const SS_OPS[] = {"addss", "subss", "mulss", "divss", "sqrtss", "minss", "maxss", "cmpss0", "cmpss1", "cmpss2", "cmpss3", "cmpss4", "cmpss5", "cmpss6", "cmpss7", "comiss", "ucomiss", "cvtss2sd", "cvtss2si", "cvttss2si", "cvtsi2ss"};
static const char *const SD_OPS[] = {"addsd", "subsd", "mulsd", "divsd", "sqrtsd", "minsd", "maxsd", "cmpsd0", "cmpsd1", "cmpsd2", "cmpsd3", "cmpsd4", "cmpsd5", "cmpsd6", "cmpsd7", "comisd", "ucomisd", "cvtsd2ss", "cvtsd2si", "cvttsd2si"};

static void single_case(int op, u32 csr, u32 a, u32 b) {
  __m128 va = F32(a), vb = F32(b);
  __m128d wa;
  u32 out = 0, ires = 0;
  u64 efl = 0, res = 0;
  switch (op) {
    case 0: RUN_PS("addss"); res = LOW32(va); break;
    case 1: RUN_PS("subss"); res = LOW32(va); break;
    case 2: RUN_PS("mulss"); res = LOW32(va); break;
    case 3: RUN_PS("divss"); res = LOW32(va); break;
    case 4: RUN_PS("sqrtss"); res = LOW32(va); break;
    case 5: RUN_PS("minss"); res = LOW32(va); break;
    case 6: RUN_PS("maxss"); res = LOW32(va); break;
    case 7: RUN_PS("cmpss $0,"); res = LOW32(va); break;
    case 8: RUN_PS("cmpss $1,"); res = LOW32(va); break;
    case 9: RUN_PS("cmpss $2,"); res = LOW32(va); break;
    case 10: RUN_PS("cmpss $3,"); res = LOW32(va); break;
    case 11: RUN_PS("cmpss $4,"); res = LOW32(va); break;
    case 12: RUN_PS("cmpss $5,"); res = LOW32(va); break;
    case 13: RUN_PS("cmpss $6,"); res = LOW32(va); break;
    case 14: RUN_PS("cmpss $7,"); res = LOW32(va); break;
    case 15: RUN_EFL("comiss", va, vb); res = efl & 0x8d5; break;
    case 16: RUN_EFL("ucomiss", va, vb); res = efl & 0x8d5; break;
    case 17: wa = _mm_setzero_pd(); asm volatile("ldmxcsr %[c]\n\tcvtss2sd %[b], %[a]\n\tstmxcsr %[o]" : [a] "+x"(wa), [o] "=m"(out) : [b] "x"(vb), [c] "m"(csr)); res = LOW64(wa); break;
    case 18: RUN_TOINT("cvtss2si", vb); res = ires; break;
    case 19: RUN_TOINT("cvttss2si", vb); res = ires; break;
    case 20: { u32 i = b; asm volatile("ldmxcsr %[c]\n\tcvtsi2ss %[i], %[a]\n\tstmxcsr %[o]" : [a] "+x"(va), [o] "=m"(out) : [i] "r"(i), [c] "m"(csr)); res = LOW32(va); break; }
  }
  printf("%s %x %08x %08x %0*llx %x\n", SS_OPS[op], csr, a, b, op == 17 ? 16 : 8, (unsigned long long)res, out & 0x3f);
}

static void double_case(int op, u32 csr, u64 a, u64 b) {
  __m128d wa = F64(a), wb = F64(b);
  __m128 va;
  u32 out = 0, ires = 0;
  u64 efl = 0, res = 0;
  switch (op) {
    case 0: RUN_PD("addsd"); res = LOW64(wa); break;
    case 1: RUN_PD("subsd"); res = LOW64(wa); break;
    case 2: RUN_PD("mulsd"); res = LOW64(wa); break;
    case 3: RUN_PD("divsd"); res = LOW64(wa); break;
    case 4: RUN_PD("sqrtsd"); res = LOW64(wa); break;
    case 5: RUN_PD("minsd"); res = LOW64(wa); break;
    case 6: RUN_PD("maxsd"); res = LOW64(wa); break;
    case 7: RUN_PD("cmpsd $0,"); res = LOW64(wa); break;
    case 8: RUN_PD("cmpsd $1,"); res = LOW64(wa); break;
    case 9: RUN_PD("cmpsd $2,"); res = LOW64(wa); break;
    case 10: RUN_PD("cmpsd $3,"); res = LOW64(wa); break;
    case 11: RUN_PD("cmpsd $4,"); res = LOW64(wa); break;
    case 12: RUN_PD("cmpsd $5,"); res = LOW64(wa); break;
    case 13: RUN_PD("cmpsd $6,"); res = LOW64(wa); break;
    case 14: RUN_PD("cmpsd $7,"); res = LOW64(wa); break;
    case 15: RUN_EFL("comisd", wa, wb); res = efl & 0x8d5; break;
    case 16: RUN_EFL("ucomisd", wa, wb); res = efl & 0x8d5; break;
    case 17: va = _mm_setzero_ps(); asm volatile("ldmxcsr %[c]\n\tcvtsd2ss %[b], %[a]\n\tstmxcsr %[o]" : [a] "+x"(va), [o] "=m"(out) : [b] "x"(wb), [c] "m"(csr)); res = LOW32(va); break;
    case 18: RUN_TOINT("cvtsd2si", wb); res = ires; break;
    case 19: RUN_TOINT("cvttsd2si", wb); res = ires; break;
  }
  printf("%s %x %016llx %016llx %0*llx %x\n", SD_OPS[op], csr, (unsigned long long)a, (unsigned long long)b, op == 17 ? 8 : 16, (unsigned long long)res, out & 0x3f);
}

int main(int argc, char **argv) {
  int n = oracle_args(argc, argv, 0x9e3779b97f4a7c15ull);
  for (int mode = 0; mode < 16; mode++) {
    u32 csr = 0x1f80 | ((u32)(mode & 3) << 13) | ((mode & 4) ? 0x40 : 0) | ((mode & 8) ? 0x8000 : 0);
    for (int op = 0; op < 21; op++)
      for (int i = 0; i < n; i++) {
        u32 a = gen32(0, 0);
        u32 b = gen32(a, 1);
        if (op == 20 && (next() & 1)) b = (u32)next() >> (next() % 32);
        single_case(op, csr, a, b);
      }
    for (int op = 0; op < 20; op++)
      for (int i = 0; i < n; i++) {
        u64 a = gen64(0, 0);
        u64 b = gen64(a, 1);
        double_case(op, csr, a, b);
      }
  }
  return 0;
}
