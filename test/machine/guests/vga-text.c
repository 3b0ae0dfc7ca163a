/*
 * VGA text mode as a kernel uses it: clears the screen, writes coloured text and code page 437
 * glyphs, moves the cursor (byte and word writes to 0x3d4/0x3d5), then reads the registers back and
 * prints them on COM1 with a checksum of the screen memory, so the run can be compared with QEMU.
 * Also checks the write masks and read-back of the sequencer, graphics and attribute registers, the
 * CRTC write-protect bit, mono/colour port selection and the 0x3da toggle.
 */
#include "c-guest.h"

static volatile u16 *const screen = (volatile u16 *)0xb8000;

static u8 crtc_read(u8 i) {
  outb(0x3d4, i);
  return inb(0x3d5);
}
static void crtc_write(u8 i, u8 v) {
  outb(0x3d4, i);
  outb(0x3d5, v);
}
static void put(int row, int col, const char *s, u8 attr) {
  while (*s) screen[row * 80 + col++] = (u16)((u8)*s++ | (attr << 8));
}
static void set_cursor(u16 pos) {
  crtc_write(0x0e, (u8)(pos >> 8));
  outw(0x3d4, (u16)(0x0f | ((pos & 0xff) << 8))); /* index and data in one word write */
}

void main(void) {
  for (int i = 0; i < 80 * 25; i++) screen[i] = 0x0720;
  put(0, 0, "Hello from the VGA text screen", 0x1f);
  put(1, 4, "second line, attribute 0x4e", 0x4e);
  const char box[] = {(char)0xc9, (char)0xcd, (char)0xcd, (char)0xbb, ' ', (char)0x01, ' ', (char)0xb1, (char)0xdb, 0};
  put(3, 0, box, 0x07);
  put(24, 70, "bottom row", 0x70);
  set_cursor(5 * 80 + 7);
  crtc_write(0x0a, 0x0e);
  crtc_write(0x0b, 0x0f);

  print("crtc:");
  for (int i = 0x0a; i <= 0x0f; i++) {
    serial_putc(' ');
    hex2(crtc_read((u8)i));
  }
  show("\nindex", inb(0x3d4));
  show("misc", inb(0x3cc));
  /* Any CRTC index stores a value, also past the standard registers. */
  crtc_write(0x3f, 0xa5);
  show("cr3f", crtc_read(0x3f));
  /* Start address moves the visible window; put it back so the screen is the one written above. */
  crtc_write(0x0c, 0x01);
  crtc_write(0x0d, 0x40);
  show("start", (crtc_read(0x0c) << 8 | crtc_read(0x0d)) & 0xff);
  crtc_write(0x0c, 0);
  crtc_write(0x0d, 0);

  print("\nst01:");
  for (int i = 0; i < 4; i++) {
    serial_putc(' ');
    hex2(inb(0x3da));
  }
  print("\nseq:");
  for (int i = 0; i < 8; i++) {
    outb(0x3c4, (u8)i);
    u8 old = inb(0x3c5);
    outb(0x3c5, 0xff);
    serial_putc(' ');
    hex2(inb(0x3c5));
    outb(0x3c5, old);
  }
  show(" seqidx", (outb(0x3c4, 0xfd), inb(0x3c4)));
  print("\ngfx:");
  for (int i = 0; i < 9; i++) {
    outb(0x3ce, (u8)i);
    u8 old = inb(0x3cf);
    outb(0x3cf, 0xff);
    serial_putc(' ');
    hex2(inb(0x3cf));
    outb(0x3cf, old);
  }
  print("\nattr:");
  for (int i = 0x10; i < 0x15; i++) {
    inb(0x3da); /* flip-flop to index */
    outb(0x3c0, (u8)(i | 0x20));
    u8 old = inb(0x3c1);
    outb(0x3c0, 0xff);
    inb(0x3da);
    outb(0x3c0, (u8)(i | 0x20));
    serial_putc(' ');
    hex2(inb(0x3c1));
    outb(0x3c0, old);
  }
  inb(0x3da);
  outb(0x3c0, 0x31);
  show(" attridx", inb(0x3c0));
  outb(0x3c0, 0x00);
  show("afterdata", inb(0x3c0));

  /* Write protect: registers 0-6 keep their value, register 7 takes only bit 4. */
  u8 v11 = crtc_read(0x11), r1 = crtc_read(0x01), r7 = crtc_read(0x07);
  crtc_write(0x11, v11 | 0x80);
  crtc_write(0x01, 0x12);
  crtc_write(0x07, 0x00);
  print("\nprotect:");
  show(" r1", crtc_read(0x01));
  show("r7", crtc_read(0x07));
  crtc_write(0x11, v11 & 0x7f);
  crtc_write(0x01, r1);
  crtc_write(0x07, r7);
  show("r1back", crtc_read(0x01));

  /* Monochrome emulation: the 0x3dx ports go away and 0x3bx answer. */
  outb(0x3c2, 0x66);
  show("\nmono misc", inb(0x3cc));
  show("3d4", inb(0x3d4));
  show("3d5", inb(0x3d5));
  outb(0x3b4, 0x0f);
  show("3b5", inb(0x3b5));
  show("3ba", inb(0x3ba));
  outb(0x3c2, 0x67);
  show("color 3b4", inb(0x3b4));
  show("3d4", inb(0x3d4));

  u32 sum = 0x811c9dc5;
  const volatile u8 *bytes = (const volatile u8 *)0xb8000;
  for (int i = 0; i < 80 * 25 * 2; i++) sum = (sum ^ bytes[i]) * 16777619u;
  print("\nscreen fnv1a=");
  hex8(sum);
  print("\n");
  finish(0);
}
