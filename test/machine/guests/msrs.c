/*
 * A multiboot guest that programs PAT and the MTRRs as a kernel does at boot, spins long enough for a
 * recording to take keyframes, then reads them back and prints them on COM1 with the CPUID values seL4
 * checks first (CLFLUSH line size, the PAT feature bit; QEMU's default CPU does not advertise MTRR, so
 * that bit is not printed). It leaves through isa-debug-exit.
 * Built with: clang -m32 -ffreestanding -fno-pic -nostdlib -O1 -c; ld.lld -T guest.ld.
 */
typedef unsigned int u32;
typedef unsigned char u8;

__attribute__((section(".multiboot"), aligned(4), used))
static const u32 multiboot_header[3] = {0x1BADB002u, 0x3u, -(0x1BADB002u + 0x3u)};

static inline void outb(unsigned short port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(unsigned short port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static void putc(char c) {
  while ((inb(0x3f8 + 5) & 0x20) == 0) {}
  outb(0x3f8, (u8)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u32 v) {
  for (int i = 7; i >= 0; i--) putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}
static void wrmsr(u32 i, u32 hi, u32 lo) { __asm__ volatile("wrmsr" : : "c"(i), "a"(lo), "d"(hi)); }
static void rdmsr(u32 i, u32 *hi, u32 *lo) { __asm__ volatile("rdmsr" : "=a"(*lo), "=d"(*hi) : "c"(i)); }
static void show(const char *name, u32 i) {
  u32 hi, lo;
  rdmsr(i, &hi, &lo);
  puts(name);
  putc('=');
  puthex(hi);
  putc(':');
  puthex(lo);
  putc('\n');
}

volatile u32 spin;

void guest_main(void) {
  u32 a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  puts("clflush=");
  puthex((b >> 8) & 0xff);
  puts(" pat=");
  puthex((d >> 16) & 1);
  putc('\n');
  /* Write-combining in PAT entry 1, as Linux does; a 128 MiB write-back range; MTRRs enabled. */
  wrmsr(0x277, 0x00070106, 0x00070106);
  wrmsr(0x200, 0, 0x00000006);
  wrmsr(0x201, 0, 0xf8000800);
  wrmsr(0x250, 0x06060606, 0x06060606);
  wrmsr(0x2ff, 0, 0xc00);
  for (u32 i = 0; i < 3000; i++) spin = spin + i;
  show("pat", 0x277);
  show("physbase0", 0x200);
  show("physmask0", 0x201);
  show("fix64k", 0x250);
  show("deftype", 0x2ff);
  outb(0xf4, 0);
  for (;;) __asm__ volatile("cli; hlt");
}

static u8 stack[8192] __attribute__((aligned(16)));

__attribute__((naked, noreturn)) void _start(void) {
  __asm__ volatile("mov %0, %%esp\ncall guest_main\n" : : "i"(stack + sizeof stack));
}
