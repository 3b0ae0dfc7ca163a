/*
 * A multiboot (v1) guest that prints, on COM1, what its boot loader handed it: the magic, the module
 * list (address, count, and per module its start, end, length, string and first bytes) and the
 * command line with its address. Under QEMU's -kernel and under ttd the output must be identical:
 * the modules and strings sit at the same addresses. It leaves through isa-debug-exit (status 1).
 * Built with: clang -m32 -ffreestanding -fno-pic -nostdlib -O1 -c; ld.lld -T guest.ld.
 */
typedef unsigned int u32;
typedef unsigned char u8;

__attribute__((section(".multiboot"), aligned(4), used))
static const u32 multiboot_header[3] = {0x1BADB002u, 0x3u, -(0x1BADB002u + 0x3u)};

struct mb_info {
  u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct mb_module {
  u32 start, end, string, reserved;
};

static inline void outb(unsigned short port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(unsigned short port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc(char c) {
  while ((inb(0x3f8 + 5) & 0x20) == 0) {}
  outb(0x3f8, (u8)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u32 v, int digits) {
  for (int i = digits - 1; i >= 0; i--) putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}
static void putdec(u32 v) {
  char b[12];
  int n = 0;
  do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) putc(b[--n]);
}

void guest_main(u32 magic, const struct mb_info *mbi) {
  puts("magic=");
  puthex(magic, 8);
  puts(" flags&mods=");
  puthex(mbi->flags & 0xc, 1);
  puts("\nmods_count=");
  putdec(mbi->mods_count);
  puts(" mods_addr=");
  puthex(mbi->mods_addr, 8);
  puts("\n");
  const struct mb_module *m = (const struct mb_module *)mbi->mods_addr;
  for (u32 i = 0; i < mbi->mods_count; i++) {
    puts("mod ");
    putdec(i);
    puts(": start=");
    puthex(m[i].start, 8);
    puts(" end=");
    puthex(m[i].end, 8);
    puts(" len=");
    putdec(m[i].end - m[i].start);
    puts(" string@");
    puthex(m[i].string, 8);
    puts("='");
    puts((const char *)m[i].string);
    puts("' bytes=");
    const u8 *p = (const u8 *)m[i].start;
    for (u32 j = 0; j < 8 && m[i].start + j < m[i].end; j++) {
      puthex(p[j], 2);
      putc(' ');
    }
    puts("last=");
    if (m[i].end > m[i].start) puthex(p[m[i].end - m[i].start - 1], 2);
    puts("\n");
  }
  puts("cmdline@");
  puthex(mbi->cmdline, 8);
  puts("='");
  puts((const char *)mbi->cmdline);
  puts("'\n");
  outb(0xf4, 0);
  for (;;) __asm__ volatile("cli; hlt");
}

static u8 stack[8192] __attribute__((aligned(16)));

__attribute__((naked, noreturn)) void _start(void) {
  __asm__ volatile(
      "mov %0, %%esp\n"
      "push %%ebx\n"
      "push %%eax\n"
      "call guest_main\n"
      : : "i"(stack + sizeof stack));
}
