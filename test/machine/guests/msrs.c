/*
 * A multiboot guest that programs PAT and the MTRRs as a kernel does at boot, spins long enough for a
 * recording to take keyframes, then reads them back and prints them on COM1 with the CPUID values seL4
 * checks first (CLFLUSH line size, the PAT feature bit; QEMU's default CPU does not advertise MTRR, so
 * that bit is not printed). It leaves through isa-debug-exit.
 */
#include "c-guest.h"

static void wrmsr(u32 i, u32 hi, u32 lo) { __asm__ volatile("wrmsr" : : "c"(i), "a"(lo), "d"(hi)); }
static void rdmsr(u32 i, u32 *hi, u32 *lo) { __asm__ volatile("rdmsr" : "=a"(*lo), "=d"(*hi) : "c"(i)); }
static void show_msr(const char *name, u32 i) {
  u32 hi, lo;
  rdmsr(i, &hi, &lo);
  print(name);
  serial_putc('=');
  hex8(hi);
  serial_putc(':');
  hex8(lo);
  serial_putc('\n');
}

volatile u32 spin;

void main(void) {
  u32 a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  print("clflush=");
  hex8((b >> 8) & 0xff);
  print(" pat=");
  hex8((d >> 16) & 1);
  serial_putc('\n');
  /* Write-combining in PAT entry 1, as Linux does; a 128 MiB write-back range; MTRRs enabled. */
  wrmsr(0x277, 0x00070106, 0x00070106);
  wrmsr(0x200, 0, 0x00000006);
  wrmsr(0x201, 0, 0xf8000800);
  wrmsr(0x250, 0x06060606, 0x06060606);
  wrmsr(0x2ff, 0, 0xc00);
  for (u32 i = 0; i < 3000; i++) spin = spin + i;
  show_msr("pat", 0x277);
  show_msr("physbase0", 0x200);
  show_msr("physmask0", 0x201);
  show_msr("fix64k", 0x250);
  show_msr("deftype", 0x2ff);
  finish(0);
}
