/*
 * Keyboard input through IRQ 1: remaps the PIC, unmasks IRQ 1, enables keyboard interrupts in the
 * 8042 command byte and halts. Each interrupt reads one byte from port 0x60 and prints it; after
 * eight bytes it prints the count of interrupts and exits. The test types the keys from outside
 * (Machine.keyboard.pressKey) while the guest waits in hlt.
 */
#include "c-guest.h"
#include "c-guest-irq.h"

static volatile int received, interrupts;

void keyboard_isr(void);
__asm__(
  ".globl keyboard_isr\n"
  "keyboard_isr:\n"
  "  pusha\n"
  "  call keyboard_irq\n"
  "  popa\n"
  "  iret\n");

void keyboard_irq(void) {
  u8 b = inb(0x60);
  interrupts++;
  received++;
  hex2(b);
  serial_putc(' ');
  outb(0x20, 0x20);
}

void main(void) {
  set_gate(0x21, keyboard_isr);
  load_idt();
  pic_remap(0xfd, 0xff); /* only IRQ 1 */
  outb(0x64, 0x60); outb(0x60, 0x65); /* keyboard interrupt on, translation on, aux off */
  print("ready\n");
  while (received < 8) __asm__ volatile("sti; hlt; cli");
  print("\nirqs=");
  hex2((u32)interrupts);
  print("\n");
  finish(0);
}
