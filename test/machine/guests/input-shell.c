/*
 * A tiny interrupt-driven shell for the record-and-replay tests of input from outside: it takes
 * characters from COM1 (received-data interrupt, IRQ 4) and from the PS/2 keyboard (IRQ 1, set 1 scan
 * codes as the 8042 translates them), echoes them, and runs each line as a command:
 *
 *   sum A B C...   prints sum=<total>            rev TEXT   prints TEXT backwards
 *   ticks          prints the PIT ticks so far   date       prints the CMOS clock
 *   spin           computes for a while without halting, then prints the ticks it took
 *   quit           prints bye and leaves through isa-debug-exit with status 0 ((0 << 1) | 1 = 1)
 *
 * Between interrupts it halts, and a 10 kHz PIT tick runs throughout, so when the input arrives
 * changes what `ticks` prints: a replay that delivered a byte a step late would print differently.
 */
#include "c-guest.h"
#include "c-guest-irq.h"

static void dec2(u32 v) { serial_putc((char)('0' + v / 10 % 10)); serial_putc((char)('0' + v % 10)); }


/* Characters from both devices, filled by the interrupt handlers. */
volatile u8 ring[256];
volatile u32 head, tail;
volatile u32 ticks;
static u32 shift;

static const char keymap[0x3a] = {
  0, 27, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', 8, '\t',
  'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0, 'a', 's',
  'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
  'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char shifted[] = "!@#$%^&*()_+";

void uart_irq(void) {
  (void)inb(COM1 + 2);
  while (inb(COM1 + 5) & 0x01) ring[head++ & 255] = inb(COM1);
  outb(0x20, 0x20);
}

void kbd_irq(void) {
  u8 sc = inb(0x60);
  if (sc == 0x2a || sc == 0x36) shift = 1;
  else if (sc == 0xaa || sc == 0xb6) shift = 0;
  else if (sc < 0x3a && keymap[sc]) {
    char c = keymap[sc];
    if (shift && c >= 'a' && c <= 'z') c = (char)(c - 32);
    else if (shift && c >= '0' && c <= '9') c = shifted[c == '0' ? 9 : c - '1'];
    ring[head++ & 255] = (u8)c;
  }
  outb(0x20, 0x20);
}

void timer_irq(void) { ticks++; outb(0x20, 0x20); }

void isr0(void); void isr1(void); void isr4(void); void isr_other(void);
__asm__(
  ".text\n"
  "isr0: pusha\n call timer_irq\n popa\n iret\n"
  "isr1: pusha\n call kbd_irq\n popa\n iret\n"
  "isr4: pusha\n call uart_irq\n popa\n iret\n"
  "isr_other: push %eax\n mov $0x20, %al\n out %al, $0xa0\n out %al, $0x20\n pop %eax\n iret\n");

static u8 cmos(u8 reg) { outb(0x70, reg); u8 v = inb(0x71); return (u8)((v >> 4) * 10 + (v & 15)); }

static int starts(const char *line, const char *word) {
  while (*word) if (*line++ != *word++) return 0;
  return *line == ' ' || *line == 0;
}

static void run(char *line) {
  if (starts(line, "sum")) {
    u32 total = 0, cur = 0;
    for (char *p = line + 3;; p++) {
      if (*p >= '0' && *p <= '9') cur = cur * 10 + (u32)(*p - '0');
      else { total += cur; cur = 0; if (!*p) break; }
    }
    print("sum="); dec(total); serial_putc('\n');
  } else if (starts(line, "rev")) {
    char *p = line + 3;
    while (*p == ' ') p++;
    char *e = p;
    while (*e) e++;
    while (e > p) serial_putc(*--e);
    serial_putc('\n');
  } else if (starts(line, "ticks")) {
    print("ticks="); dec(ticks); serial_putc('\n');
  } else if (starts(line, "spin")) {
    u32 t0 = ticks;
    volatile u32 x = 0;
    for (u32 i = 0; i < 200000; i++) x += i;
    (void)x;
    print("spun ticks="); dec(ticks - t0); serial_putc('\n');
  } else if (starts(line, "date")) {
    print("20"); dec2(cmos(9)); serial_putc('-'); dec2(cmos(8)); serial_putc('-'); dec2(cmos(7)); serial_putc(' ');
    dec2(cmos(4)); serial_putc(':'); dec2(cmos(2)); serial_putc(':'); dec2(cmos(0)); serial_putc('\n');
  } else if (starts(line, "quit")) {
    print("bye\n");
    outl(0xf4, 0);
  } else if (line[0]) {
    print("unknown: "); print(line); serial_putc('\n');
  }
}

void main(void) {
  for (int v = 0; v < 256; v++) set_gate(v, isr_other);
  set_gate(0x20, isr0); set_gate(0x21, isr1); set_gate(0x24, isr4);
  load_idt();
  pic_remap(0xec, 0xff); /* IRQ 0, 1 and 4 */
  outb(0x43, 0x34); outb(0x40, 119); outb(0x40, 0); /* 10 kHz */

  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x80); outb(COM1 + 0, 1); outb(COM1 + 1, 0);
  outb(COM1 + 3, 0x03);
  outb(COM1 + 2, 0x07); /* FIFO on, trigger 1 */
  outb(COM1 + 4, 0x0b);
  while (inb(COM1 + 5) & 0x01) (void)inb(COM1);
  outb(COM1 + 1, 0x01);
  print("shell ready\n$ ");

  char line[128];
  u32 n = 0;
  for (;;) {
    __asm__ volatile("cli");
    if (tail == head) { __asm__ volatile("sti; hlt"); continue; }
    __asm__ volatile("sti");
    char c = (char)ring[tail++ & 255];
    if (c == '\r') c = '\n';
    if (c == 8 || c == 127) { if (n) { n--; print("\b \b"); } continue; }
    if (c == '\n') {
      serial_putc('\n');
      line[n] = 0;
      run(line);
      n = 0;
      print("$ ");
      continue;
    }
    if (n < sizeof(line) - 1 && c >= ' ' && c < 127) { line[n++] = c; serial_putc(c); }
  }
}
