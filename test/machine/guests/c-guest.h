/*
 * The few helpers the C test guests share: port I/O, COM1 output, hex numbers and isa-debug-exit.
 * Guests are multiboot kernels linked at 2 MiB (c-guest.ld), so code and stack stay put while the
 * A20 gate folds the 1 MiB..2 MiB range onto the first megabyte.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) {
  u8 v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

__attribute__((unused)) static void serial_putc(char c) {
  while ((inb(0x3fd) & 0x20) == 0) {
  }
  outb(0x3f8, (u8)c);
}
__attribute__((unused)) static void print(const char *s) {
  while (*s) serial_putc(*s++);
}
__attribute__((unused)) static void hex2(u32 v) {
  serial_putc("0123456789abcdef"[(v >> 4) & 15]);
  serial_putc("0123456789abcdef"[v & 15]);
}
__attribute__((unused)) static void hex8(u32 v) {
  for (int i = 28; i >= 0; i -= 4) serial_putc("0123456789abcdef"[(v >> i) & 15]);
}
/* "name=xx " */
__attribute__((unused)) static void show(const char *name, int v) {
  print(name);
  serial_putc('=');
  if (v < 0) print("--");
  else hex2((u32)v);
  serial_putc(' ');
}
/* Leaves through isa-debug-exit: QEMU and ttd both exit with status (code << 1) | 1. */
__attribute__((unused)) static void finish(u8 code) {
  outb(0xf4, code);
  for (;;) __asm__ volatile("cli; hlt");
}
