/*
 * A multiboot2 guest that prints, on COM1, the boot information it was handed: EAX, the alignment of
 * EBX, then every tag in order (type, size, offset) with its contents: command line, loader name,
 * modules (start, end, length, string, first bytes), basic memory, memory map, framebuffer, ACPI RSDP,
 * load base address, and the end tag with total_size. It leaves through isa-debug-exit (status 1).
 * Its header asks for tags 1 2 3 4 6 8 21 (required), prefers a 1024x768x32 framebuffer (optional),
 * wants page-aligned modules and says it supports EGA text.
 * Built with: clang -m32 -ffreestanding -fno-pic -nostdlib -O1 -c; ld.lld -T guest.ld.
 */
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

#define MB2_MAGIC 0xE85250D6u
#define HEADER_LENGTH 112u
#define TAG(type, flags) ((u32)(type) | ((u32)(flags) << 16))

__attribute__((section(".multiboot"), aligned(8), used))
static const u32 multiboot2_header[HEADER_LENGTH / 4] = {
    MB2_MAGIC, 0, HEADER_LENGTH, -(MB2_MAGIC + HEADER_LENGTH),
    /* information request: 7 types, required */
    TAG(1, 0), 36, 1, 2, 3, 4, 6, 8, 21, 0,
    /* framebuffer 1024x768x32, optional */
    TAG(5, 1), 20, 1024, 768, 32, 0,
    /* module alignment */
    TAG(6, 0), 8,
    /* console flags: EGA text supported */
    TAG(4, 0), 12, 2, 0,
    /* end */
    TAG(0, 0), 8,
};

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

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
static void put64(u64 v) { puthex((u32)(v >> 32), 8); puthex((u32)v, 8); }
static u32 rd32(const u8 *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((u32)p[3] << 24); }

void guest_main(u32 magic, u32 info) {
  puts("eax=");
  puthex(magic, 8);
  puts(" ebx&7=");
  putdec(info & 7);
  const u8 *mbi = (const u8 *)info;
  u32 total = rd32(mbi);
  puts(" total_size=");
  putdec(total);
  puts(" reserved=");
  putdec(rd32(mbi + 4));
  puts("\n");
  u32 off = 8;
  for (;;) {
    const u8 *t = mbi + off;
    u32 type = rd32(t), size = rd32(t + 4);
    puts("tag ");
    putdec(type);
    puts(" size=");
    putdec(size);
    puts(" at=");
    putdec(off);
    switch (type) {
      case 1: puts(" cmdline='"); puts((const char *)t + 8); puts("'"); break;
      case 2: puts(" loader='"); puts((const char *)t + 8); puts("'"); break;
      case 3: {
        u32 s = rd32(t + 8), e = rd32(t + 12);
        puts(" start="); puthex(s, 8); puts(" end="); puthex(e, 8); puts(" len="); putdec(e - s);
        puts(" string='"); puts((const char *)t + 16); puts("' bytes=");
        for (u32 j = 0; j < 4 && s + j < e; j++) { puthex(((const u8 *)s)[j], 2); putc(' '); }
        break;
      }
      case 4: puts(" mem_lower="); putdec(rd32(t + 8)); puts(" mem_upper="); putdec(rd32(t + 12)); break;
      case 6: {
        u32 esz = rd32(t + 8);
        puts(" entry_size="); putdec(esz); puts(" version="); putdec(rd32(t + 12));
        for (u32 p = 16; p + esz <= size; p += esz) {
          const u8 *en = t + p;
          puts("\n  base="); put64(((u64)rd32(en + 4) << 32) | rd32(en));
          puts(" length="); put64(((u64)rd32(en + 12) << 32) | rd32(en + 8));
          puts(" type="); putdec(rd32(en + 16)); puts(" reserved="); putdec(rd32(en + 20));
        }
        break;
      }
      case 8:
        puts(" addr="); put64(((u64)rd32(t + 12) << 32) | rd32(t + 8));
        puts(" pitch="); putdec(rd32(t + 16)); puts(" width="); putdec(rd32(t + 20));
        puts(" height="); putdec(rd32(t + 24)); puts(" bpp="); putdec(t[28]); puts(" type="); putdec(t[29]);
        break;
      case 14: case 15: {
        puts(" rsdp='");
        for (int j = 0; j < 8; j++) putc((char)t[8 + j]);
        puts("' oem='");
        for (int j = 0; j < 6; j++) putc((char)t[8 + 9 + j]);
        puts("' revision=");
        putdec(t[8 + 15]);
        break;
      }
      case 21: puts(" load_base="); puthex(rd32(t + 8), 8); break;
    }
    puts("\n");
    if (type == 0) break;
    off += (size + 7) & ~7u;
    if (off >= total) { puts("ran past total_size\n"); break; }
  }
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
