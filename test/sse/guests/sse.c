/*
 * The vector unit under a guest: enables OSFXSR/OSXMMEXCPT/OSXSAVE, reads CPUID and XCR0, runs MMX,
 * SSE and SSE2 instructions on special and ordinary operands under several MXCSR settings, and saves
 * and restores state with FXSAVE/FXRSTOR/XSAVE/XSAVEOPT/XRSTOR, printing every result as raw hex.
 * Its COM1 output under ttd must equal QEMU 7.2's (-cpu Nehalem,+xsave,+xsaveopt) byte for byte.
 * Built with -mno-sse -mno-mmx: only the inline assembly below touches the vector registers.
 */
#include "c-guest.h"

u32 va[4] __attribute__((aligned(16)));
u32 vb[4] __attribute__((aligned(16)));
u32 vr[4] __attribute__((aligned(16)));
u32 csr_in, csr_out, gpr_out;
u8 area[1024] __attribute__((aligned(64)));
u8 image[512] __attribute__((aligned(16)));
u32 regs[32] __attribute__((aligned(16)));

static void word(u32 v) {
  hex8(v);
  serial_putc(' ');
}

/* Two-operand XMM instruction: xmm0 = va, xmm1 = vb, under csr_in; result xmm0 and MXCSR. */
#define X(name, insn)                                                                                        \
  static void t_##name(void) {                                                                              \
    __asm__ volatile("ldmxcsr csr_in\n\tmovdqu va, %%xmm0\n\tmovdqu vb, %%xmm1\n\t" insn                     \
                     "\n\tmovdqu %%xmm0, vr\n\tstmxcsr csr_out" ::: "memory");                              \
  }
/* Result in a general register (EAX), e.g. CVTSS2SI, MOVMSKPS, or EFLAGS after COMISS. */
#define G(name, insn)                                                                                        \
  static void t_##name(void) {                                                                              \
    __asm__ volatile("ldmxcsr csr_in\n\tmovdqu va, %%xmm0\n\tmovdqu vb, %%xmm1\n\txorl %%eax, %%eax\n\t" insn \
                     "\n\tmovl %%eax, gpr_out\n\tmovdqu %%xmm0, vr\n\tstmxcsr csr_out" ::: "memory", "eax");   \
  }
/* MMX: mm0 = va (low quadword), mm1 = vb; result mm0. */
#define M(name, insn)                                                                                        \
  static void t_##name(void) {                                                                              \
    __asm__ volatile("ldmxcsr csr_in\n\tmovdqu va, %%xmm0\n\tmovq va, %%mm0\n\tmovq vb, %%mm1\n\t" insn     \
                     "\n\tmovq %%mm0, vr\n\tmovl $0, vr+8\n\tmovl $0, vr+12\n\tstmxcsr csr_out\n\temms" ::: "memory"); \
  }

#define FLOAT_OPS(_)                                                                                          \
  _(addps, "addps %%xmm1, %%xmm0") _(addss, "addss %%xmm1, %%xmm0") _(addpd, "addpd %%xmm1, %%xmm0")          \
  _(addsd, "addsd %%xmm1, %%xmm0") _(subps, "subps %%xmm1, %%xmm0") _(subsd, "subsd %%xmm1, %%xmm0")          \
  _(mulps, "mulps %%xmm1, %%xmm0") _(mulpd, "mulpd %%xmm1, %%xmm0") _(mulss, "mulss %%xmm1, %%xmm0")          \
  _(divps, "divps %%xmm1, %%xmm0") _(divpd, "divpd %%xmm1, %%xmm0") _(divsd, "divsd %%xmm1, %%xmm0")          \
  _(sqrtps, "sqrtps %%xmm1, %%xmm0") _(sqrtss, "sqrtss %%xmm1, %%xmm0") _(sqrtpd, "sqrtpd %%xmm1, %%xmm0")    \
  _(sqrtsd, "sqrtsd %%xmm1, %%xmm0")                                                                          \
  _(cmpeqps, "cmpps $0, %%xmm1, %%xmm0") _(cmpltps, "cmpps $1, %%xmm1, %%xmm0")                               \
  _(cmpleps, "cmpps $2, %%xmm1, %%xmm0") _(cmpunordps, "cmpps $3, %%xmm1, %%xmm0")                            \
  _(cmpneqps, "cmpps $4, %%xmm1, %%xmm0") _(cmpnltps, "cmpps $5, %%xmm1, %%xmm0")                             \
  _(cmpnleps, "cmpps $6, %%xmm1, %%xmm0") _(cmpordps, "cmpps $7, %%xmm1, %%xmm0")                             \
  _(cmpltpd, "cmppd $1, %%xmm1, %%xmm0") _(cmpneqsd, "cmpsd $4, %%xmm1, %%xmm0")                              \
  _(cmpless, "cmpss $2, %%xmm1, %%xmm0") _(rcpps, "rcpps %%xmm1, %%xmm0") _(rcpss, "rcpss %%xmm1, %%xmm0")    \
  _(rsqrtps, "rsqrtps %%xmm1, %%xmm0") _(rsqrtss, "rsqrtss %%xmm1, %%xmm0")                                   \
  _(cvtps2pd, "cvtps2pd %%xmm1, %%xmm0") _(cvtpd2ps, "cvtpd2ps %%xmm1, %%xmm0")                               \
  _(cvtss2sd, "cvtss2sd %%xmm1, %%xmm0") _(cvtsd2ss, "cvtsd2ss %%xmm1, %%xmm0")                               \
  _(cvtdq2ps, "cvtdq2ps %%xmm1, %%xmm0") _(cvtps2dq, "cvtps2dq %%xmm1, %%xmm0")                               \
  _(cvttps2dq, "cvttps2dq %%xmm1, %%xmm0") _(cvtdq2pd, "cvtdq2pd %%xmm1, %%xmm0")                             \
  _(cvtpd2dq, "cvtpd2dq %%xmm1, %%xmm0") _(cvttpd2dq, "cvttpd2dq %%xmm1, %%xmm0")                             \
  _(cvtsi2ss, "cvtsi2ss vb, %%xmm0") _(cvtsi2sd, "cvtsi2sd vb+4, %%xmm0")                                     \
  _(cvtpi2ps, "movq vb, %%mm1\n\tcvtpi2ps %%mm1, %%xmm0\n\temms")                                             \
  _(cvtpi2pd, "cvtpi2pd vb, %%xmm0\n\temms")                                                                  \
  _(cvtps2pi, "cvtps2pi %%xmm1, %%mm2\n\tmovq %%mm2, vr\n\temms\n\tmovsd vr, %%xmm0")                         \
  _(cvttpd2pi, "cvttpd2pi %%xmm1, %%mm2\n\tmovq %%mm2, vr\n\temms\n\tmovsd vr, %%xmm0")

/* MIN/MAX: with DAZ hardware writes a denormal answer as zero, QEMU 7.2 as it was: run without DAZ. */
#define MINMAX_OPS(_)                                                                                         \
  _(minps, "minps %%xmm1, %%xmm0") _(maxps, "maxps %%xmm1, %%xmm0") _(minsd, "minsd %%xmm1, %%xmm0")          \
  _(maxpd, "maxpd %%xmm1, %%xmm0") _(minss, "minss %%xmm1, %%xmm0")

#define FLOAT_G_OPS(_)                                                                                        \
  _(cvtss2si, "cvtss2si %%xmm1, %%eax") _(cvttss2si, "cvttss2si vb, %%eax")                                   \
  _(cvtsd2si, "cvtsd2si %%xmm1, %%eax") _(cvttsd2si, "cvttsd2si %%xmm1, %%eax")                               \
  _(comiss, "comiss %%xmm1, %%xmm0\n\tpushf\n\tpopl %%eax\n\tandl $0x8d5, %%eax")                            \
  _(ucomiss, "ucomiss %%xmm1, %%xmm0\n\tpushf\n\tpopl %%eax\n\tandl $0x8d5, %%eax")                          \
  _(comisd, "comisd %%xmm1, %%xmm0\n\tpushf\n\tpopl %%eax\n\tandl $0x8d5, %%eax")                            \
  _(ucomisd, "ucomisd vb, %%xmm0\n\tpushf\n\tpopl %%eax\n\tandl $0x8d5, %%eax")

#define INT_OPS(_)                                                                                            \
  _(andps, "andps %%xmm1, %%xmm0") _(andnpd, "andnpd %%xmm1, %%xmm0") _(orps, "orps %%xmm1, %%xmm0")          \
  _(xorpd, "xorpd %%xmm1, %%xmm0") _(unpcklps, "unpcklps %%xmm1, %%xmm0") _(unpckhps, "unpckhps %%xmm1, %%xmm0") \
  _(unpcklpd, "unpcklpd %%xmm1, %%xmm0") _(unpckhpd, "unpckhpd vb, %%xmm0") _(shufps, "shufps $0x1b, %%xmm1, %%xmm0") \
  _(shufpd, "shufpd $1, %%xmm1, %%xmm0") _(movhlps, "movhlps %%xmm1, %%xmm0") _(movlhps, "movlhps %%xmm1, %%xmm0") \
  _(movss_r, "movss %%xmm1, %%xmm0") _(movss_m, "movss vb+4, %%xmm0") _(movsd_r, "movsd %%xmm1, %%xmm0")        \
  _(movsd_m, "movsd vb+8, %%xmm0") _(movlps, "movlps vb+8, %%xmm0") _(movhps, "movhps vb, %%xmm0")             \
  _(movlpd_st, "movlpd %%xmm1, vr+8\n\tmovhpd %%xmm1, vr\n\tmovdqu vr, %%xmm0")                              \
  _(movq_x, "movq %%xmm1, %%xmm0") _(movq_m, "movq vb+8, %%xmm0") _(movq_st, "movdqa %%xmm1, %%xmm0\n\tmovq %%xmm1, vr+4\n\tmovdqu vr, %%xmm0") \
  _(movd_in, "movd vb+12, %%xmm0") _(movd_out, "movd %%xmm1, vr+8\n\tmovdqu vr, %%xmm0")                      \
  _(movq2dq, "movq vb, %%mm3\n\tmovq2dq %%mm3, %%xmm0\n\temms") _(movdq2q, "movdq2q %%xmm1, %%mm4\n\tmovq %%mm4, vr+8\n\temms\n\tmovdqu vr, %%xmm0") \
  _(maskmovdqu, "movdqu vb, %%xmm2\n\tmovdqu %%xmm0, vr\n\tpush %%edi\n\tleal vr, %%edi\n\tmaskmovdqu %%xmm2, %%xmm0\n\tpop %%edi\n\tmovdqu vr, %%xmm0") \
  _(punpcklbw, "punpcklbw %%xmm1, %%xmm0") _(punpcklwd, "punpcklwd %%xmm1, %%xmm0")                           \
  _(punpckldq, "punpckldq %%xmm1, %%xmm0") _(punpcklqdq, "punpcklqdq %%xmm1, %%xmm0")                         \
  _(punpckhbw, "punpckhbw %%xmm1, %%xmm0") _(punpckhwd, "punpckhwd %%xmm1, %%xmm0")                           \
  _(punpckhdq, "punpckhdq %%xmm1, %%xmm0") _(punpckhqdq, "punpckhqdq %%xmm1, %%xmm0")                         \
  _(packsswb, "packsswb %%xmm1, %%xmm0") _(packuswb, "packuswb %%xmm1, %%xmm0") _(packssdw, "packssdw %%xmm1, %%xmm0") \
  _(pcmpgtb, "pcmpgtb %%xmm1, %%xmm0") _(pcmpgtw, "pcmpgtw %%xmm1, %%xmm0") _(pcmpgtd, "pcmpgtd %%xmm1, %%xmm0") \
  _(pcmpeqb, "pcmpeqb %%xmm1, %%xmm0") _(pcmpeqw, "pcmpeqw %%xmm1, %%xmm0") _(pcmpeqd, "pcmpeqd %%xmm1, %%xmm0") \
  _(paddb, "paddb %%xmm1, %%xmm0") _(paddw, "paddw %%xmm1, %%xmm0") _(paddd, "paddd %%xmm1, %%xmm0")          \
  _(paddq, "paddq %%xmm1, %%xmm0") _(psubb, "psubb %%xmm1, %%xmm0") _(psubw, "psubw %%xmm1, %%xmm0")          \
  _(psubd, "psubd %%xmm1, %%xmm0") _(psubq, "psubq %%xmm1, %%xmm0") _(paddsb, "paddsb %%xmm1, %%xmm0")        \
  _(paddsw, "paddsw %%xmm1, %%xmm0") _(paddusb, "paddusb %%xmm1, %%xmm0") _(paddusw, "paddusw %%xmm1, %%xmm0") \
  _(psubsb, "psubsb %%xmm1, %%xmm0") _(psubsw, "psubsw %%xmm1, %%xmm0") _(psubusb, "psubusb %%xmm1, %%xmm0")  \
  _(psubusw, "psubusw %%xmm1, %%xmm0") _(pmullw, "pmullw %%xmm1, %%xmm0") _(pmulhw, "pmulhw %%xmm1, %%xmm0")  \
  _(pmulhuw, "pmulhuw %%xmm1, %%xmm0") _(pmuludq, "pmuludq %%xmm1, %%xmm0") _(pmaddwd, "pmaddwd %%xmm1, %%xmm0") \
  _(psadbw, "psadbw %%xmm1, %%xmm0") _(pavgb, "pavgb %%xmm1, %%xmm0") _(pavgw, "pavgw %%xmm1, %%xmm0")        \
  _(pminub, "pminub %%xmm1, %%xmm0") _(pmaxub, "pmaxub %%xmm1, %%xmm0") _(pminsw, "pminsw %%xmm1, %%xmm0")    \
  _(pmaxsw, "pmaxsw %%xmm1, %%xmm0") _(pand, "pand %%xmm1, %%xmm0") _(pandn, "pandn %%xmm1, %%xmm0")          \
  _(por, "por %%xmm1, %%xmm0") _(pxor, "pxor %%xmm1, %%xmm0")                                                 \
  _(psrlw, "psrlw %%xmm1, %%xmm0") _(psrld, "psrld vb, %%xmm0") _(psrlq, "psrlq %%xmm1, %%xmm0")              \
  _(psraw, "psraw %%xmm1, %%xmm0") _(psrad, "psrad %%xmm1, %%xmm0") _(psllw, "psllw %%xmm1, %%xmm0")          \
  _(pslld, "pslld %%xmm1, %%xmm0") _(psllq, "psllq %%xmm1, %%xmm0")                                           \
  _(psrlw_i, "psrlw $3, %%xmm0") _(psraw_i, "psraw $9, %%xmm0") _(psllw_i, "psllw $17, %%xmm0")               \
  _(psrld_i, "psrld $31, %%xmm0") _(psrad_i, "psrad $40, %%xmm0") _(pslld_i, "pslld $4, %%xmm0")              \
  _(psrlq_i, "psrlq $33, %%xmm0") _(psllq_i, "psllq $7, %%xmm0") _(psrldq, "psrldq $5, %%xmm0")               \
  _(pslldq, "pslldq $11, %%xmm0") _(pshufd, "pshufd $0x4e, %%xmm1, %%xmm0") _(pshufhw, "pshufhw $0x1b, %%xmm1, %%xmm0") \
  _(pshuflw, "pshuflw $0xe4, vb, %%xmm0") _(pinsrw, "pinsrw $5, vb, %%xmm0")                                  \
  _(pinsrw_r, "movl vb+4, %%eax\n\tpinsrw $2, %%eax, %%xmm0")

#define INT_G_OPS(_)                                                                                          \
  _(movmskps, "movmskps %%xmm1, %%eax") _(movmskpd, "movmskpd %%xmm0, %%eax") _(pmovmskb, "pmovmskb %%xmm1, %%eax") \
  _(pextrw, "pextrw $6, %%xmm1, %%eax") _(movd_gpr, "movd %%xmm1, %%eax")

#define MMX_OPS(_)                                                                                            \
  _(m_paddb, "paddb %%mm1, %%mm0") _(m_paddsw, "paddsw %%mm1, %%mm0") _(m_paddq, "paddq vb, %%mm0")           \
  _(m_psubusb, "psubusb %%mm1, %%mm0") _(m_pmulhw, "pmulhw %%mm1, %%mm0") _(m_pmaddwd, "pmaddwd %%mm1, %%mm0") \
  _(m_pmuludq, "pmuludq %%mm1, %%mm0") _(m_psadbw, "psadbw %%mm1, %%mm0") _(m_pavgw, "pavgw %%mm1, %%mm0")    \
  _(m_pcmpgtw, "pcmpgtw %%mm1, %%mm0") _(m_packsswb, "packsswb %%mm1, %%mm0") _(m_packuswb, "packuswb %%mm1, %%mm0") \
  _(m_punpcklbw, "punpcklbw %%mm1, %%mm0") _(m_punpckhdq, "punpckhdq %%mm1, %%mm0") _(m_pxor, "pxor %%mm1, %%mm0") \
  _(m_psrlq, "psrlq %%mm1, %%mm0") _(m_psraw_i, "psraw $5, %%mm0") _(m_psllq_i, "psllq $12, %%mm0")           \
  _(m_pshufw, "pshufw $0x1b, %%mm1, %%mm0") _(m_pinsrw, "pinsrw $3, vb, %%mm0") _(m_pminub, "pminub %%mm1, %%mm0") \
  _(m_movd, "movd vb+4, %%mm0") _(m_maskmovq, "movq %%mm0, vr\n\tpush %%edi\n\tleal vr, %%edi\n\tmovq vb, %%mm2\n\tmaskmovq %%mm2, %%mm0\n\tpop %%edi\n\tmovq vr, %%mm0")

FLOAT_OPS(X)
MINMAX_OPS(X)
FLOAT_G_OPS(G)
INT_OPS(X)
INT_G_OPS(G)
MMX_OPS(M)

struct test {
  const char *name;
  void (*fn)(void);
  int gpr;
};
#define ENTRY(name, insn) {#name, t_##name, 0},
#define GENTRY(name, insn) {#name, t_##name, 1},
static const struct test float_tests[] = {FLOAT_OPS(ENTRY) FLOAT_G_OPS(GENTRY)};
static const struct test minmax_tests[] = {MINMAX_OPS(ENTRY)};
static const struct test int_tests[] = {INT_OPS(ENTRY) INT_G_OPS(GENTRY) MMX_OPS(ENTRY)};

/* Operands: singles, doubles and integer patterns, specials included. */
static const u32 VECTORS[][4] = {
  {0x3f800000, 0xc0200000, 0x7f7fffff, 0x00000001},
  {0x7fc00000, 0x00000000, 0xff800000, 0x40e00000},
  {0x3eaaaaab, 0x4b800001, 0x80800000, 0x7f800001},
  {0x40490fdb, 0xbf000000, 0x00800000, 0x4f000000},
  {0x00000000, 0x3ff00000, 0x00000000, 0xc0040000},
  {0xffffffff, 0x7fefffff, 0x00000001, 0x00000000},
  {0x00000000, 0x7ff80000, 0x55555555, 0x3fd55555},
  {0x54442d18, 0x400921fb, 0x00000000, 0x80000000},
  {0x80017fff, 0x01ff80fe, 0x7f00ff80, 0xfffe0002},
  {0x00000003, 0x12345678, 0x9abcdef0, 0x00000000},
};
#define NVEC (sizeof VECTORS / sizeof VECTORS[0])
static const u32 MODES[] = {0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9fc0};

static void run(const struct test *t, u32 mode, int pair) {
  const u32 *a = VECTORS[pair], *b = VECTORS[(pair + 3) % NVEC];
  for (int i = 0; i < 4; i++) {
    va[i] = a[i];
    vb[i] = b[i];
    vr[i] = 0;
  }
  csr_in = mode;
  gpr_out = 0;
  t->fn();
  print(t->name);
  serial_putc(' ');
  hex2(pair);
  serial_putc(' ');
  if (t->gpr) word(gpr_out);
  for (int i = 0; i < 4; i++) word(vr[i]);
  /* QEMU 7.2 never sets MXCSR.DE (denormal operand): left out here, checked against the host instead. */
  hex8(csr_out & ~2u);
  serial_putc('\n');
}

static u32 read_cr4(void) {
  u32 v;
  __asm__ volatile("movl %%cr4, %0" : "=r"(v));
  return v;
}

static void cpuid(u32 leaf, u32 sub, u32 *r) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void dump(const char *what, const u8 *p, int n) {
  print(what);
  serial_putc('\n');
  for (int i = 0; i < n; i += 4) {
    word(p[i] | (p[i + 1] << 8) | (p[i + 2] << 16) | ((u32)p[i + 3] << 24));
    if ((i & 31) == 28) serial_putc('\n');
  }
}

static void fill(u8 *p, int n, u8 v) {
  for (int i = 0; i < n; i++) p[i] = v;
}

static void xsave(u8 *p, u32 mask) {
  __asm__ volatile("xsave (%0)" : : "r"(p), "a"(mask), "d"(0) : "memory");
}
static void xsaveopt(u8 *p, u32 mask) {
  __asm__ volatile("xsaveopt (%0)" : : "r"(p), "a"(mask), "d"(0) : "memory");
}
static void xrstor(u8 *p, u32 mask) {
  __asm__ volatile("xrstor (%0)" : : "r"(p), "a"(mask), "d"(0) : "memory");
}

/* XMM0-7 and MXCSR as seen through ordinary stores. */
static void show_xmm(void) {
  __asm__ volatile("movdqa %%xmm0, regs\n\tmovdqa %%xmm1, regs+16\n\tmovdqa %%xmm2, regs+32\n\tmovdqa %%xmm3, regs+48\n\t"
                   "movdqa %%xmm4, regs+64\n\tmovdqa %%xmm5, regs+80\n\tmovdqa %%xmm6, regs+96\n\tmovdqa %%xmm7, regs+112\n\t"
                   "stmxcsr csr_out" ::: "memory");
  print("xmm ");
  for (int i = 0; i < 32; i++) word(regs[i]);
  hex8(csr_out);
  serial_putc('\n');
}

void main(void) {
  u32 r[4];
  cpuid(1, 0, r);
  print("cpuid1 ");
  word(r[2] & ((1u << 26) | (1u << 27)));
  word(r[3] & ((1u << 23) | (1u << 24) | (1u << 25) | (1u << 26)));
  serial_putc('\n');

  u32 cr4 = read_cr4() | (1u << 9) | (1u << 10) | (1u << 18);
  __asm__ volatile("movl %0, %%cr4" : : "r"(cr4));
  cpuid(1, 0, r);
  print("osxsave ");
  word(r[2] & (1u << 27));
  cpuid(0xd, 0, r);
  word(r[0]);
  word(r[2]);
  word(r[3]);
  cpuid(0xd, 1, r);
  word(r[0] & 1);
  u32 lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  word(lo);
  word(hi);
  __asm__ volatile("xsetbv" : : "a"(3), "d"(0), "c"(0));
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  word(lo);
  cpuid(0xd, 0, r);
  word(r[1]);
  __asm__ volatile("stmxcsr csr_out");
  hex8(csr_out);
  serial_putc('\n');

  for (unsigned t = 0; t < sizeof float_tests / sizeof float_tests[0]; t++)
    for (unsigned m = 0; m < sizeof MODES / sizeof MODES[0]; m++)
      for (unsigned p = 0; p < NVEC; p++) run(&float_tests[t], MODES[m], p);
  for (unsigned t = 0; t < sizeof minmax_tests / sizeof minmax_tests[0]; t++)
    for (unsigned m = 0; m < 4; m++)
      for (unsigned p = 0; p < NVEC; p++) run(&minmax_tests[t], MODES[m], p);
  for (unsigned t = 0; t < sizeof int_tests / sizeof int_tests[0]; t++)
    for (unsigned p = 0; p < NVEC; p++) run(&int_tests[t], 0x1f80, p);

  /* FXRSTOR a crafted image (every register valid, exponents all ones so MMX writes agree), then FXSAVE it back. */
  fill(image, 512, 0);
  image[0] = 0x7f; image[1] = 0x03; /* FCW */
  image[2] = 0x00; image[3] = 0x28; /* FSW: TOP = 5 */
  image[4] = 0xff;                  /* every register in use */
  for (int i = 0; i < 8; i++) {
    for (int k = 0; k < 8; k++) image[32 + 16 * i + k] = (u8)(0x11 * (i + 1) + k);
    image[32 + 16 * i + 8] = 0xff;
    image[32 + 16 * i + 9] = 0xff;
  }
  image[24] = 0x80; image[25] = 0x7f; /* MXCSR 0x7f80: round toward zero */
  for (int i = 0; i < 128; i++) image[160 + i] = (u8)(i * 7 + 3);
  __asm__ volatile("fxrstor image" ::: "memory");
  show_xmm();
  fill(area, 512, 0xa5);
  fill(area, 32, 0);
  __asm__ volatile("fxsave area" ::: "memory");
  dump("fxsave", area, 512);

  /* MMX moves TOP to 0 and tags every register valid; EMMS empties them. */
  __asm__ volatile("movq va, %%mm3\n\tpaddw %%mm3, %%mm5" ::: "memory");
  fill(area, 512, 0xa5);
  fill(area, 32, 0);
  __asm__ volatile("fxsave area" ::: "memory");
  dump("fxsave-mmx", area, 160);
  __asm__ volatile("emms");
  fill(area, 32, 0);
  __asm__ volatile("fxsave area" ::: "memory");
  dump("fxsave-emms", area, 32);

  /* XSAVE / XSAVEOPT / XRSTOR with both components in use. */
  fill(area, 1024, 0x5a);
  fill(area, 32, 0);
  fill(area + 512, 64, 0);
  xsave(area, 3);
  dump("xsave", area, 576);
  fill(area + 160, 128, 0x33);
  xsaveopt(area, 2);
  dump("xsaveopt-sse", area, 576);
  /* Restore a modified image: XMM from memory, x87 left alone (not requested). */
  area[24] = 0x80; area[25] = 0x1f;
  xrstor(area, 2);
  show_xmm();
  /* XSTATE_BV without SSE: XRSTOR puts SSE in its initial state (MXCSR still loaded). */
  area[512] = 1;
  area[24] = 0x80; area[25] = 0x3f;
  xrstor(area, 3);
  show_xmm();
  finish(0);
}
