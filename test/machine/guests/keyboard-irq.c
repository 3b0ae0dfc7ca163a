/*
 * Keyboard input through IRQ 1: remaps the PIC, unmasks IRQ 1, enables keyboard interrupts in the
 * 8042 command byte and halts. Each interrupt reads one byte from port 0x60 and prints it; after
 * eight bytes it prints the count of interrupts and exits. The test types the keys from outside
 * (Machine.keyboard.pressKey) while the guest waits in hlt.
 */
#include "c-guest.h"

struct gate { u16 off_lo, sel; u8 zero, type; u16 off_hi; } __attribute__((packed));
static struct gate idt[256];
static struct { u16 limit; u32 base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (u32)idt };
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
  u32 h = (u32)keyboard_isr;
  u16 cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  idt[0x21] = (struct gate){ (u16)h, cs, 0, 0x8e, (u16)(h >> 16) };
  __asm__ volatile("lidt %0" : : "m"(idtr));
  /* PIC: vectors 0x20/0x28, only IRQ 1 unmasked. */
  outb(0x20, 0x11); outb(0xa0, 0x11);
  outb(0x21, 0x20); outb(0xa1, 0x28);
  outb(0x21, 0x04); outb(0xa1, 0x02);
  outb(0x21, 0x01); outb(0xa1, 0x01);
  outb(0x21, 0xfd); outb(0xa1, 0xff);
  outb(0x64, 0x60); outb(0x60, 0x65); /* keyboard interrupt on, translation on, aux off */
  print("ready\n");
  while (received < 8) __asm__ volatile("sti; hlt; cli");
  print("\nirqs=");
  hex2((u32)interrupts);
  print("\n");
  finish(0);
}
