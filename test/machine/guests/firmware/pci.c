/* Enumerates PCI bus 0 through configuration mechanism #1 and prints, for each function present,
   its identity, class, header type, interrupt line/pin, BARs and what byte and word accesses read;
   then what an absent device and a disabled address read. */
#include "guest.h"

static u32 cfg_read32(u32 dev, u32 fn, u32 reg) {
  outl(0xcf8, 0x80000000u | (dev << 11) | (fn << 8) | (reg & 0xfc));
  return inl(0xcfc);
}
static u32 cfg_read8(u32 dev, u32 fn, u32 reg) {
  outl(0xcf8, 0x80000000u | (dev << 11) | (fn << 8) | (reg & 0xfc));
  return inb(0xcfc + (reg & 3));
}
static u32 cfg_read16(u32 dev, u32 fn, u32 reg) {
  outl(0xcf8, 0x80000000u | (dev << 11) | (fn << 8) | (reg & 0xfc));
  return inw(0xcfc + (reg & 2));
}

int main(void) {
  for (u32 dev = 0; dev < 32; dev++) {
    for (u32 fn = 0; fn < 8; fn++) {
      u32 id = cfg_read32(dev, fn, 0);
      if ((id & 0xffff) == 0xffff) { if (fn == 0) break; continue; }
      u32 cls = cfg_read32(dev, fn, 8);
      u32 hdr = cfg_read8(dev, fn, 0x0e);
      puts("00:"); puthex(dev, 2); putc('.'); puthex(fn, 1);
      puts(" "); puthex(id & 0xffff, 4); putc(':'); puthex(id >> 16, 4);
      puts(" class "); puthex(cls >> 8, 6); puts(" rev "); puthex(cls & 0xff, 2);
      puts(" hdr "); puthex(hdr, 2);
      puts(" int "); puthex(cfg_read8(dev, fn, 0x3c), 2); putc('/'); puthex(cfg_read8(dev, fn, 0x3d), 2);
      puts(" cmd "); puthex(cfg_read16(dev, fn, 4), 4); puts(" sts "); puthex(cfg_read16(dev, fn, 6), 4);
      puts(" sub "); puthex(cfg_read32(dev, fn, 0x2c), 8);
      putc('\n');
      for (u32 b = 0; b < 6; b++) {
        u32 v = cfg_read32(dev, fn, 0x10 + 4 * b);
        if (v) { puts("  bar"); putdec(b); putc(' '); puthex(v, 8); putc('\n'); }
      }
#ifdef FULL_DUMP
      for (u32 r = 0; r < 256; r += 16) {
        puts("  "); puthex(r, 2); putc(':');
        for (u32 k = 0; k < 16; k++) { putc(' '); puthex(cfg_read8(dev, fn, r + k), 2); }
        putc('\n');
      }
#endif
      if (fn == 0 && (hdr & 0x80) == 0) break;
    }
  }
  /* Size probe of the IDE function's bus-master BAR, then a write to a read-only register and to the
     interrupt line. */
  outl(0xcf8, 0x80000920u); u32 bar = inl(0xcfc); outl(0xcfc, 0xffffffffu);
  puts("bar4 size "); puthex(inl(0xcfc), 8); outl(0xcfc, bar); puts(" restored "); puthex(inl(0xcfc), 8); putc('\n');
  outl(0xcf8, 0x80000800u); outw(0xcfc, 0x1234); puts("vendor after write "); puthex(inw(0xcfc), 4); putc('\n');
  outl(0xcf8, 0x80000b3cu); outb(0xcfc, 0x0b); puts("pm int line "); puthex(inb(0xcfc), 2); puts(" pin "); puthex(inb(0xcfd), 2);
  outb(0xcfc, 0x09); putc('\n');
  outl(0xcf8, 0x80000b00u); puts("bytes "); puthex(inb(0xcfe), 2); puthex(inb(0xcff), 2); puts(" word "); puthex(inw(0xcfe), 4);
  puts(" addr hi "); puthex(inb(0xcfa), 2); puthex(inb(0xcfb), 2); putc('\n');
  puts("elcr "); puthex(inb(0x4d0), 2); putc(' '); puthex(inb(0x4d1), 2); putc('\n');
  puts("absent 00:1f.0 "); puthex(cfg_read32(31, 0, 0), 8); putc('\n');
  puts("bus 1 "); puthex((outl(0xcf8, 0x80010000u), inl(0xcfc)), 8); putc('\n');
  outl(0xcf8, 0x00000000u);
  puts("disabled "); puthex(inl(0xcfc), 8); putc('\n');
  outl(0xcf8, 0x80000004u);
  puts("addr "); puthex(inl(0xcf8), 8); putc('\n');
  return 0;
}
