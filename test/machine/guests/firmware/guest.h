/* What the firmware test guests share: port I/O, COM1 output and number formatting. */
#ifndef GUEST_H
#define GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u8 peek8(u32 a) { return *(volatile u8 *)a; }
static inline u16 peek16(u32 a) { return *(volatile u16 *)a; }
static inline u32 peek32(u32 a) { return *(volatile u32 *)a; }
static inline void poke32(u32 a, u32 v) { *(volatile u32 *)a = v; }

static void putc(char c) {
  while ((inb(0x3f8 + 5) & 0x20) == 0) {}
  outb(0x3f8, (u8)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u32 v, int digits) {
  for (int i = digits - 1; i >= 0; i--) putc("0123456789abcdef"[(v >> (i * 4)) & 15]);
}
static void putdec(u32 v) {
  char b[12];
  int n = 0;
  do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) putc(b[--n]);
}
/* Prints n bytes at a as characters (for signatures and OEM ids). */
static void putn(u32 a, int n) { for (int i = 0; i < n; i++) putc((char)peek8(a + i)); }
static u8 sum8(u32 a, u32 n) { u8 s = 0; for (u32 i = 0; i < n; i++) s += peek8(a + i); return s; }

#endif
