/*
 * A multiboot guest that echoes what arrives on COM1, interrupt driven: the FIFO is on with a trigger
 * level of 4, so a burst raises the received-data interrupt and a last byte or two arrive through
 * the character timeout interrupt. The interrupt handler drains the FIFO while LSR shows data ready;
 * the main loop halts between interrupts and echoes each byte upper-cased, a line count after each
 * newline. 'q' ends the run: a summary, then isa-debug-exit with status 0 ((0 << 1) | 1 = 1).
 * What it prints does not depend on when the bytes arrive, so QEMU (bytes on stdin) and ttd (bytes
 * injected at fixed steps) must print the same.
 */
#include "c-guest.h"
#include "c-guest-irq.h"


/* Filled by the interrupt handler, emptied by the main loop. */
volatile u8 ring[256];
volatile u32 head, tail;
volatile u32 interrupts;
volatile u32 overruns;

void uart_irq(void) {
  interrupts++;
  (void)inb(COM1 + 2); /* IIR */
  for (;;) {
    u8 lsr = inb(COM1 + 5);
    if (lsr & 0x02) overruns++;
    if (!(lsr & 0x01)) break;
    ring[head++ & 255] = inb(COM1);
  }
  outb(0x20, 0x20);
}

void isr4(void);
void isr_other(void);
__asm__(
  ".text\n"
  "isr4: pusha\n call uart_irq\n popa\n iret\n"
  "isr_other: push %eax\n mov $0x20, %al\n out %al, $0xa0\n out %al, $0x20\n pop %eax\n iret\n");

void main(void) {
  for (int v = 0; v < 256; v++) set_gate(v, isr_other);
  set_gate(0x24, isr4);
  load_idt();
  pic_remap(0xef, 0xff); /* IRQ 4 only */

  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x80); outb(COM1 + 0, 1); outb(COM1 + 1, 0); /* 115200 baud */
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0x47); /* FIFO on, both reset, trigger 4 */
  outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
  while (inb(COM1 + 5) & 0x01) (void)inb(COM1);
  outb(COM1 + 1, 0x01); /* received data (and timeout) interrupts */
  print("ready\n");

  u32 lines = 0, bytes = 0;
  for (;;) {
    __asm__ volatile("cli");
    if (tail == head) { __asm__ volatile("sti; hlt"); continue; }
    __asm__ volatile("sti");
    u8 c = ring[tail++ & 255];
    bytes++;
    if (c == 'q') break;
    if (c >= 'a' && c <= 'z') c = (u8)(c - 32);
    serial_putc((char)c);
    if (c == '\n') { lines++; print("["); dec(lines); print("]\n"); }
  }
  print("\nbytes="); dec(bytes); print(" lines="); dec(lines); print(" overruns="); dec(overruns);
  print(interrupts > 0 ? " irq=yes\n" : " irq=no\n");
  outl(0xf4, 0);
}
