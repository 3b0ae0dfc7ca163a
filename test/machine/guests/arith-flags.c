/*
 * A multiboot guest that runs the integer instructions whose flags the SDM leaves partly undefined
 * (shifts and rotates, SHLD/SHRD, MUL/IMUL, DIV/IDIV, BSF/BSR, the bit tests, the logic operations and
 * the BCD adjustments) over a grid of operands, counts and incoming flags, and prints each result with
 * all six arithmetic flags on COM1, one line per case, under a "op NAME" line per instruction. The
 * same output under ttd and QEMU shows that ttd's choices for the undefined flags are QEMU's.
 */
#include "c-guest.h"

#define ARITH 0x8d5

static const u32 values[] = {
  0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0x5a3c96e1, 0x80000001,
};
#define NVALUES (sizeof values / sizeof values[0])
static const u32 counts[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33};
#define NCOUNTS (sizeof counts / sizeof counts[0])
/* EFLAGS before each case: every arithmetic flag clear, then every one set. */
static const u32 presets[] = {0x002, 0x002 | ARITH};

static void report(u32 res, u32 extra, u32 flags) {
  hex8(res);
  serial_putc(' ');
  hex8(extra);
  serial_putc(' ');
  hex(flags & ARITH, 3);
  serial_putc('\n');
}

/* An instruction on (a, b) with EFLAGS preset to f: prints EAX, EDX (or b's register) and the flags. */
typedef void (*op2)(u32 a, u32 b, u32 f);

/* `insn` with %0 in EAX, %1 the second operand in ECX (CL for counts), EDX cleared. */
#define OP(fn, insn)                                                                                     \
  static void fn(u32 a, u32 b, u32 f) {                                                                  \
    u32 r = a, d = 0, fl;                                                                                \
    __asm__ volatile("push %4; popf; " insn "; pushf; pop %2" : "+a"(r), "+d"(d), "=&r"(fl) : "c"(b), "r"(f) : "cc"); \
    report(r, d, fl);                                                                                    \
  }

#define SHIFTS(op)                                 \
  OP(op##b, #op "b %%cl, %b0")                     \
  OP(op##w, #op "w %%cl, %w0")                     \
  OP(op##l, #op "l %%cl, %k0")
SHIFTS(rol) SHIFTS(ror) SHIFTS(rcl) SHIFTS(rcr) SHIFTS(shl) SHIFTS(shr) SHIFTS(sar)

/* SHLD/SHRD shift EAX with bits from EDX (set to a rotated copy of a) by CL. */
#define DOUBLE(fn, insn)                                                                                 \
  static void fn(u32 a, u32 b, u32 f) {                                                                  \
    u32 r = a, d = (a << 13) | (a >> 19) | 0x10000, fl;                                                  \
    __asm__ volatile("push %4; popf; " insn "; pushf; pop %2" : "+a"(r), "+d"(d), "=&r"(fl) : "c"(b), "r"(f) : "cc"); \
    report(r, d, fl);                                                                                    \
  }
DOUBLE(shldw, "shldw %%cl, %w1, %w0")
DOUBLE(shldl, "shldl %%cl, %k1, %k0")
DOUBLE(shrdw, "shrdw %%cl, %w1, %w0")
DOUBLE(shrdl, "shrdl %%cl, %k1, %k0")

OP(mulb, "mulb %%cl")
OP(mulw, "mulw %%cx")
OP(mull, "mull %%ecx")
OP(imul1b, "imulb %%cl")
OP(imul1w, "imulw %%cx")
OP(imul1l, "imull %%ecx")
OP(imul2w, "imulw %%cx, %w0")
OP(imul2l, "imull %%ecx, %k0")
OP(imul3l, "imull $0x12345, %%ecx, %k0")

/* Division with EDX (AH for bytes) clear, or sign-extended for IDIV; the caller avoids #DE. */
OP(divb, "movb $0, %%ah; divb %%cl")
OP(divw, "divw %%cx")
OP(divl, "divl %%ecx")
OP(idivb, "cbw; idivb %%cl")
OP(idivw, "cwd; idivw %%cx")
OP(idivl, "cltd; idivl %%ecx")

/* BSF/BSR into EAX (a, unchanged for a zero source) from ECX. */
OP(bsfw, "bsfw %%cx, %w0")
OP(bsfl, "bsfl %%ecx, %k0")
OP(bsrw, "bsrw %%cx, %w0")
OP(bsrl, "bsrl %%ecx, %k0")

#define BITS(op)                  \
  OP(op##w, #op "w %%cx, %w0")    \
  OP(op##l, #op "l %%ecx, %k0")
BITS(bt) BITS(bts) BITS(btr) BITS(btc)

#define LOGIC(op)                 \
  OP(op##b, #op "b %%cl, %b0")    \
  OP(op##w, #op "w %%cx, %w0")    \
  OP(op##l, #op "l %%ecx, %k0")
LOGIC(and) LOGIC(or) LOGIC(xor) LOGIC(test)

/* BCD adjustments on AL/AH (b unused). */
OP(daa_, "daa")
OP(das_, "das")
OP(aaa_, "aaa")
OP(aas_, "aas")
OP(aam_, ".byte 0xd4, 0x0a")
OP(aad_, ".byte 0xd5, 0x0a")

struct op {
  const char *name;
  op2 fn;
  /* What b is: a count, an operand from values[], or unused. */
  enum { COUNT, VALUE, NONE } b;
  /* Division: 1 DIV, 2 IDIV (with its operand width), to skip the cases that raise #DE. */
  int div, width;
};

static const struct op ops[] = {
  {"rolb", rolb, COUNT}, {"rolw", rolw, COUNT}, {"roll", roll, COUNT},
  {"rorb", rorb, COUNT}, {"rorw", rorw, COUNT}, {"rorl", rorl, COUNT},
  {"rclb", rclb, COUNT}, {"rclw", rclw, COUNT}, {"rcll", rcll, COUNT},
  {"rcrb", rcrb, COUNT}, {"rcrw", rcrw, COUNT}, {"rcrl", rcrl, COUNT},
  {"shlb", shlb, COUNT}, {"shlw", shlw, COUNT}, {"shll", shll, COUNT},
  {"shrb", shrb, COUNT}, {"shrw", shrw, COUNT}, {"shrl", shrl, COUNT},
  {"sarb", sarb, COUNT}, {"sarw", sarw, COUNT}, {"sarl", sarl, COUNT},
  {"shldw", shldw, COUNT}, {"shldl", shldl, COUNT}, {"shrdw", shrdw, COUNT}, {"shrdl", shrdl, COUNT},
  {"mulb", mulb, VALUE}, {"mulw", mulw, VALUE}, {"mull", mull, VALUE},
  {"imulb", imul1b, VALUE}, {"imulw", imul1w, VALUE}, {"imull", imul1l, VALUE},
  {"imulw2", imul2w, VALUE}, {"imull2", imul2l, VALUE}, {"imull3", imul3l, VALUE},
  {"divb", divb, VALUE, 1, 8}, {"divw", divw, VALUE, 1, 16}, {"divl", divl, VALUE, 1, 32},
  {"idivb", idivb, VALUE, 2, 8}, {"idivw", idivw, VALUE, 2, 16}, {"idivl", idivl, VALUE, 2, 32},
  {"bsfw", bsfw, VALUE}, {"bsfl", bsfl, VALUE}, {"bsrw", bsrw, VALUE}, {"bsrl", bsrl, VALUE},
  {"btw", btw, VALUE}, {"btl", btl, VALUE}, {"btsw", btsw, VALUE}, {"btsl", btsl, VALUE},
  {"btrw", btrw, VALUE}, {"btrl", btrl, VALUE}, {"btcw", btcw, VALUE}, {"btcl", btcl, VALUE},
  {"andb", andb, VALUE}, {"andw", andw, VALUE}, {"andl", andl, VALUE},
  {"orb", orb, VALUE}, {"orw", orw, VALUE}, {"orl", orl, VALUE},
  {"xorb", xorb, VALUE}, {"xorw", xorw, VALUE}, {"xorl", xorl, VALUE},
  {"testb", testb, VALUE}, {"testw", testw, VALUE}, {"testl", testl, VALUE},
};

/* Whether dividing (the sign-extended or zero-extended) a by b at `width` bits raises #DE. */
static int divide_error(const struct op *o, u32 a, u32 b) {
  u32 mask = o->width == 32 ? 0xffffffff : (1u << o->width) - 1;
  u32 sign = 1u << (o->width - 1);
  b &= mask;
  if (b == 0) return 1;
  if (o->div == 1) return o->width == 8 && ((a & 0xff) / b) > 0xff;
  /* IDIV: the most negative dividend by -1 overflows; 8-bit IDIV divides AX = AL sign-extended. */
  return (a & mask) == sign && b == mask;
}

static const u32 bcd_presets[] = {0x002, 0x003, 0x012, 0x013};

void main(void) {
  for (u32 i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    const struct op *o = &ops[i];
    print("op ");
    print(o->name);
    serial_putc('\n');
    for (u32 v = 0; v < NVALUES; v++) {
      u32 n = o->b == COUNT ? NCOUNTS : NVALUES;
      for (u32 k = 0; k < n; k++) {
        u32 b = o->b == COUNT ? counts[k] : values[k];
        if (o->div && divide_error(o, values[v], b)) continue;
        for (u32 p = 0; p < 2; p++) o->fn(values[v], b, presets[p]);
      }
    }
  }
  /* The BCD adjustments over every AL with AH 0 and 1, with CF and AF clear and set. */
  static const struct { const char *name; op2 fn; } bcd[] = {
    {"daa", daa_}, {"das", das_}, {"aaa", aaa_}, {"aas", aas_}, {"aam", aam_}, {"aad", aad_},
  };
  for (u32 i = 0; i < sizeof bcd / sizeof bcd[0]; i++) {
    print("op ");
    print(bcd[i].name);
    serial_putc('\n');
    for (u32 ax = 0; ax < 0x200; ax++)
      for (u32 p = 0; p < 4; p++) bcd[i].fn(ax, 0, bcd_presets[p]);
  }
  print("done\n");
  finish(0);
}
