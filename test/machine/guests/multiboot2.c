/*
 * A multiboot2 guest that prints, on COM1, the boot information it was handed: EAX, the alignment of
 * EBX, then every tag in order (type, size, offset) with its contents: command line, loader name,
 * modules (start, end, length, string, first bytes), basic memory, memory map, framebuffer, ACPI RSDP,
 * load base address, and the end tag with total_size. It leaves through isa-debug-exit (status 1).
 * Its header asks for tags 1 2 3 4 6 8 21 (required), prefers a 1024x768x32 framebuffer (optional),
 * wants page-aligned modules and says it supports EGA text.
 * Built with: clang -m32 -ffreestanding -fno-pic -nostdlib -O1 -c; ld.lld -T guest.ld (its own
 * multiboot2 header and entry: c-start.S is multiboot v1).
 */
#include "c-guest.h"

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

static void put64(u64 v) { hex((u32)(v >> 32), 8); hex((u32)v, 8); }
static u32 rd32(const u8 *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((u32)p[3] << 24); }

void guest_main(u32 magic, u32 info) {
  print("eax=");
  hex(magic, 8);
  print(" ebx&7=");
  dec(info & 7);
  const u8 *mbi = (const u8 *)info;
  u32 total = rd32(mbi);
  print(" total_size=");
  dec(total);
  print(" reserved=");
  dec(rd32(mbi + 4));
  print("\n");
  u32 off = 8;
  for (;;) {
    const u8 *t = mbi + off;
    u32 type = rd32(t), size = rd32(t + 4);
    print("tag ");
    dec(type);
    print(" size=");
    dec(size);
    print(" at=");
    dec(off);
    switch (type) {
      case 1: print(" cmdline='"); print((const char *)t + 8); print("'"); break;
      case 2: print(" loader='"); print((const char *)t + 8); print("'"); break;
      case 3: {
        u32 s = rd32(t + 8), e = rd32(t + 12);
        print(" start="); hex(s, 8); print(" end="); hex(e, 8); print(" len="); dec(e - s);
        print(" string='"); print((const char *)t + 16); print("' bytes=");
        for (u32 j = 0; j < 4 && s + j < e; j++) { hex(((const u8 *)s)[j], 2); serial_putc(' '); }
        break;
      }
      case 4: print(" mem_lower="); dec(rd32(t + 8)); print(" mem_upper="); dec(rd32(t + 12)); break;
      case 6: {
        u32 esz = rd32(t + 8);
        print(" entry_size="); dec(esz); print(" version="); dec(rd32(t + 12));
        for (u32 p = 16; p + esz <= size; p += esz) {
          const u8 *en = t + p;
          print("\n  base="); put64(((u64)rd32(en + 4) << 32) | rd32(en));
          print(" length="); put64(((u64)rd32(en + 12) << 32) | rd32(en + 8));
          print(" type="); dec(rd32(en + 16)); print(" reserved="); dec(rd32(en + 20));
        }
        break;
      }
      case 8:
        print(" addr="); put64(((u64)rd32(t + 12) << 32) | rd32(t + 8));
        print(" pitch="); dec(rd32(t + 16)); print(" width="); dec(rd32(t + 20));
        print(" height="); dec(rd32(t + 24)); print(" bpp="); dec(t[28]); print(" type="); dec(t[29]);
        break;
      case 14: case 15: {
        print(" rsdp='");
        for (int j = 0; j < 8; j++) serial_putc((char)t[8 + j]);
        print("' oem='");
        for (int j = 0; j < 6; j++) serial_putc((char)t[8 + 9 + j]);
        print("' revision=");
        dec(t[8 + 15]);
        break;
      }
      case 21: print(" load_base="); hex(rd32(t + 8), 8); break;
    }
    print("\n");
    if (type == 0) break;
    off += (size + 7) & ~7u;
    if (off >= total) { print("ran past total_size\n"); break; }
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
