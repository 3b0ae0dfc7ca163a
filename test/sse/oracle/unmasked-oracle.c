/*
 * Host oracle for unmasked SSE exceptions: runs packed and scalar instructions with random exception
 * masks; when the host raises #XM (SIGFPE) the MXCSR flags are read from the signal frame. One line per
 * case:  <op> <mxcsr> <a: 4 dwords> <b: 4 dwords> <xm 0/1> <result: 4 dwords (a when xm)> <flags>
 * Usage: unmasked-oracle <n> <seed>
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include "oracle.h"

static u32 va[4] __attribute__((aligned(16))), vb[4] __attribute__((aligned(16))), vr[4] __attribute__((aligned(16)));
static u32 csr, csr_out;
static sigjmp_buf env;
static volatile u32 fault_mxcsr;

static void on_fpe(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = ctx;
  fault_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  siglongjmp(env, 1);
}

#define OPS(_) _(addps) _(subps) _(mulps) _(divps) _(sqrtps) _(addss) _(mulss) _(divss) _(sqrtss) _(addpd) _(mulpd) \
  _(divpd) _(sqrtpd) _(maxps) _(cvtps2dq) _(cvtpd2ps) _(cvtps2pd) _(cvtdq2ps)
#define FN(insn) static void f_##insn(void) { __asm__ volatile("ldmxcsr %3\n\tmovdqa %1, %%xmm0\n\tmovdqa %2, %%xmm1\n\t" #insn " %%xmm1, %%xmm0\n\tmovdqa %%xmm0, %0\n\tstmxcsr %4" : "=m"(vr) : "m"(va), "m"(vb), "m"(csr), "m"(csr_out) : "xmm0", "xmm1", "memory"); }
OPS(FN)
struct op { const char *name; void (*fn)(void); };
#define ENTRY(insn) {#insn, f_##insn},
static const struct op ops[] = {OPS(ENTRY)};

static const u32 SPECIAL[] = {0, 0x80000000, 0x3f800000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 1, 0x807fffff,
  0x00800000, 0x7f7fffff, 0x3eaaaaab, 0x4f000000, 0x0000ffff, 0x7fefffff};

static u32 gen(void) {
  u32 r = (u32)next();
  switch (next() % 4) {
    case 0: return SPECIAL[next() % (sizeof SPECIAL / 4)];
    case 1: return (r & 0x807fffff) | ((u32)(next() % 8) << 23);
    case 2: return (r & 0x807fffff) | ((u32)(248 + next() % 7) << 23);
    default: return r;
  }
}

int main(int argc, char **argv) {
  int n = oracle_args(argc, argv, 0x13198a2e03707344ull);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++)
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < 4; j++) { va[j] = gen(); vb[j] = gen(); vr[j] = va[j]; }
      csr = ((u32)(next() & 0x3f) << 7) | ((u32)(next() & 3) << 13) | ((next() & 7) == 0 ? 0x8040 : 0);
      int xm = 0;
      u32 flags;
      if (sigsetjmp(env, 1) == 0) {
        ops[k].fn();
        flags = csr_out & 0x3f;
      } else {
        xm = 1;
        flags = fault_mxcsr & 0x3f;
        for (int j = 0; j < 4; j++) vr[j] = va[j];
      }
      printf("%s %x %08x %08x %08x %08x %08x %08x %08x %08x %d %08x %08x %08x %08x %x\n", ops[k].name, csr, va[0], va[1], va[2], va[3],
             vb[0], vb[1], vb[2], vb[3], xm, vr[0], vr[1], vr[2], vr[3], flags);
    }
  return 0;
}
