/*
 * Host oracle for the packed integer, logic and unpack instructions, SSE2 (66 0F xx) and MMX (0F xx)
 * forms: runs each on random operands (with edge patterns mixed in) and prints one line per case:
 *   <x|m><opcode> <a: 4 dwords> <b: 4 dwords> <result: 4 dwords>
 * all hex, dwords little-endian first; x for the XMM form, m for the MMX form (upper dwords zero).
 * Usage: packed-oracle <n> <seed>
 */
#include "oracle.h"

static u32 va[4] __attribute__((aligned(16))), vb[4] __attribute__((aligned(16))), vr[4] __attribute__((aligned(16)));

#define OPS(_)                                                                                                \
  _(0x60, punpcklbw) _(0x61, punpcklwd) _(0x62, punpckldq) _(0x63, packsswb) _(0x64, pcmpgtb) _(0x65, pcmpgtw) \
  _(0x66, pcmpgtd) _(0x67, packuswb) _(0x68, punpckhbw) _(0x69, punpckhwd) _(0x6a, punpckhdq) _(0x6b, packssdw) \
  _(0x6c, punpcklqdq) _(0x6d, punpckhqdq) _(0x74, pcmpeqb) _(0x75, pcmpeqw) _(0x76, pcmpeqd) _(0xd1, psrlw)    \
  _(0xd2, psrld) _(0xd3, psrlq) _(0xd4, paddq) _(0xd5, pmullw) _(0xd8, psubusb) _(0xd9, psubusw) _(0xda, pminub) \
  _(0xdb, pand) _(0xdc, paddusb) _(0xdd, paddusw) _(0xde, pmaxub) _(0xdf, pandn) _(0xe0, pavgb) _(0xe1, psraw)  \
  _(0xe2, psrad) _(0xe3, pavgw) _(0xe4, pmulhuw) _(0xe5, pmulhw) _(0xe8, psubsb) _(0xe9, psubsw) _(0xea, pminsw) \
  _(0xeb, por) _(0xec, paddsb) _(0xed, paddsw) _(0xee, pmaxsw) _(0xef, pxor) _(0xf1, psllw) _(0xf2, pslld)      \
  _(0xf3, psllq) _(0xf4, pmuludq) _(0xf5, pmaddwd) _(0xf6, psadbw) _(0xf8, psubb) _(0xf9, psubw) _(0xfa, psubd) \
  _(0xfb, psubq) _(0xfc, paddb) _(0xfd, paddw) _(0xfe, paddd) _(0x14, unpcklpd) _(0x15, unpckhpd)               \
  _(0x54, andpd) _(0x55, andnpd) _(0x56, orpd) _(0x57, xorpd)

#define FN(opc, insn) \
  static void f_##insn(void) { __asm__ volatile("movdqa %1, %%xmm0\n\tmovdqa %2, %%xmm1\n\t" #insn " %%xmm1, %%xmm0\n\tmovdqa %%xmm0, %0" : "=m"(vr) : "m"(va), "m"(vb) : "xmm0", "xmm1"); }
OPS(FN)

/* The MMX forms (those that exist: no quadword unpacks, no PD logic). */
#define MMX_OPS(_)                                                                                            \
  _(0x60, punpcklbw) _(0x61, punpcklwd) _(0x62, punpckldq) _(0x63, packsswb) _(0x64, pcmpgtb) _(0x65, pcmpgtw) \
  _(0x66, pcmpgtd) _(0x67, packuswb) _(0x68, punpckhbw) _(0x69, punpckhwd) _(0x6a, punpckhdq) _(0x6b, packssdw) \
  _(0x74, pcmpeqb) _(0x75, pcmpeqw) _(0x76, pcmpeqd) _(0xd1, psrlw) _(0xd2, psrld) _(0xd3, psrlq) _(0xd4, paddq) \
  _(0xd5, pmullw) _(0xd8, psubusb) _(0xd9, psubusw) _(0xda, pminub) _(0xdb, pand) _(0xdc, paddusb)             \
  _(0xdd, paddusw) _(0xde, pmaxub) _(0xdf, pandn) _(0xe0, pavgb) _(0xe1, psraw) _(0xe2, psrad) _(0xe3, pavgw)   \
  _(0xe4, pmulhuw) _(0xe5, pmulhw) _(0xe8, psubsb) _(0xe9, psubsw) _(0xea, pminsw) _(0xeb, por) _(0xec, paddsb) \
  _(0xed, paddsw) _(0xee, pmaxsw) _(0xef, pxor) _(0xf1, psllw) _(0xf2, pslld) _(0xf3, psllq) _(0xf4, pmuludq)   \
  _(0xf5, pmaddwd) _(0xf6, psadbw) _(0xf8, psubb) _(0xf9, psubw) _(0xfa, psubd) _(0xfb, psubq) _(0xfc, paddb)   \
  _(0xfd, paddw) _(0xfe, paddd)
#define MFN(opc, insn) \
  static void m_##insn(void) { __asm__ volatile("movq %1, %%mm0\n\tmovq %2, %%mm1\n\t" #insn " %%mm1, %%mm0\n\tmovq %%mm0, %0\n\temms" : "=m"(vr) : "m"(va), "m"(vb) : "mm0", "mm1"); }
MMX_OPS(MFN)

struct op { int opc; void (*fn)(void); char form; };
#define ENTRY(opc, insn) {opc, f_##insn, 'x'},
#define MENTRY(opc, insn) {opc, m_##insn, 'm'},
static const struct op ops[] = {OPS(ENTRY) MMX_OPS(MENTRY)};

static u32 gen(void) {
  switch (next() % 6) {
    case 0: return 0;
    case 1: return 0xffffffffu;
    case 2: { static const u32 e[] = {0x80000000u, 0x7fffffffu, 0x80008000u, 0x7fff7fffu, 0x80808080u, 0x7f7f7f7fu, 0x00ff00ffu, 0x01010101u, 0xff00ff00u}; return e[next() % 9]; }
    case 3: return (u32)next() & 0x1f; /* small shift counts */
    default: return (u32)next();
  }
}

int main(int argc, char **argv) {
  int n = oracle_args(argc, argv, 0x243f6a8885a308d3ull);
  for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++)
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < 4; j++) { va[j] = gen(); vb[j] = gen(); }
      /* Shift counts: mostly in range, sometimes not. */
      if ((next() & 3) != 0) { vb[0] &= 0x7f; vb[1] = 0; }
      if (ops[k].form == 'm') va[2] = va[3] = vb[2] = vb[3] = vr[2] = vr[3] = 0;
      ops[k].fn();
      printf("%c%02x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x %08x\n", ops[k].form, ops[k].opc, va[0], va[1], va[2], va[3],
             vb[0], vb[1], vb[2], vb[3], vr[0], vr[1], vr[2], vr[3]);
    }
  return 0;
}
