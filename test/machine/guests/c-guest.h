/*
 * The few helpers the C test guests share: port I/O, COM1 output, hex and decimal numbers and
 * isa-debug-exit. Guests are multiboot kernels linked at 2 MiB (c-guest.ld) after c-start.S, which
 * calls main(magic, multiboot info), so code and stack stay put while the A20 gate folds the
 * 1 MiB..2 MiB range onto the first megabyte (multiboot2.c alone brings its own v2 header and entry).
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) {
  u8 v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline u16 inw(u16 port) {
  u16 v;
  __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline u32 inl(u16 port) {
  u32 v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

#define COM1 0x3f8

/* Waits for THR to empty: QEMU drops a byte written while the previous one is still going out. */
__attribute__((unused)) static void serial_putc(char c) {
  while ((inb(COM1 + 5) & 0x20) == 0) {
  }
  outb(COM1, (u8)c);
}
__attribute__((unused)) static void print(const char *s) {
  while (*s) serial_putc(*s++);
}
/* The low `digits` hex digits of v. */
__attribute__((unused)) static void hex(u32 v, int digits) {
  for (int i = digits - 1; i >= 0; i--) serial_putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}
__attribute__((unused)) static void hex2(u32 v) { hex(v, 2); }
__attribute__((unused)) static void hex8(u32 v) { hex(v, 8); }
__attribute__((unused)) static void dec(u32 v) {
  char b[12];
  int n = 0;
  do {
    b[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) serial_putc(b[--n]);
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
