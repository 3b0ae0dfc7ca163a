/* Routes interrupts through the I/O APIC to the local APIC with the 8259As masked: the PIT on pin 2
   (edge, vector 0x30) and the UART's transmitter-empty interrupt on pin 4 (level, vector 0x34), and
   reports what the handlers saw: ISR and TMR bits, the entry's remote IRR before and after EOI. */
#include "guest.h"

#define IOAPIC 0xfec00000u
#define LAPIC 0xfee00000u

static u32 ioapic_read(u32 reg) { poke32(IOAPIC, reg); return peek32(IOAPIC + 0x10); }
static void ioapic_write(u32 reg, u32 v) { poke32(IOAPIC, reg); poke32(IOAPIC + 0x10, v); }
static u32 lapic_bit(u32 base, u32 vector) { return (peek32(LAPIC + base + (vector / 32) * 0x10) >> (vector % 32)) & 1; }

struct gate { u16 off_lo, sel; u8 zero, type; u16 off_hi; } __attribute__((packed));
static struct gate idt[256];
static struct { u16 limit; u32 base; } __attribute__((packed)) idtr;

volatile u32 pit_count, pit_isr, pit_tmr;
volatile u32 uart_count, uart_isr, uart_tmr, uart_rirr_in, uart_rirr_after_eoi;

void pit_handler(void) {
  if (pit_count == 0) { pit_isr = lapic_bit(0x100, 0x30); pit_tmr = lapic_bit(0x180, 0x30); }
  pit_count++;
  poke32(LAPIC + 0xb0, 0);
}

void uart_handler(void) {
  uart_count++;
  uart_isr = lapic_bit(0x100, 0x34);
  uart_tmr = lapic_bit(0x180, 0x34);
  uart_rirr_in = (ioapic_read(0x10 + 2 * 4) >> 14) & 1;
  (void)inb(0x3f8 + 2); /* reading IIR ends the transmitter-empty request: the line drops */
  poke32(LAPIC + 0xb0, 0);
  uart_rirr_after_eoi = (ioapic_read(0x10 + 2 * 4) >> 14) & 1;
}

__asm__(".text\n"
        "pit_stub: pusha; call pit_handler; popa; iret\n"
        "uart_stub: pusha; call uart_handler; popa; iret\n"
        "spurious_stub: iret\n");
extern char pit_stub[], uart_stub[], spurious_stub[];

static void set_gate(int v, void *h) {
  u16 cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  idt[v].off_lo = (u16)(u32)h; idt[v].off_hi = (u16)((u32)h >> 16);
  idt[v].sel = cs; idt[v].zero = 0; idt[v].type = 0x8e;
}

int main(void) {
  outb(0x21, 0xff); outb(0xa1, 0xff); /* both 8259As masked: only the I/O APIC delivers */
  set_gate(0x30, pit_stub); set_gate(0x34, uart_stub); set_gate(0xff, spurious_stub);
  idtr.limit = sizeof idt - 1; idtr.base = (u32)idt;
  __asm__ volatile("lidt %0" : : "m"(idtr));
  poke32(LAPIC + 0xf0, 0x1ff); /* software-enable the local APIC, spurious vector 0xff */
  puts("ioapic id "); puthex(ioapic_read(0), 8); puts(" ver "); puthex(ioapic_read(1), 8); puts(" arb "); puthex(ioapic_read(2), 8);
  puts(" pin2 "); puthex(ioapic_read(0x15), 8); puthex(ioapic_read(0x14), 8); putc('\n');
  ioapic_write(0x15, 0); ioapic_write(0x14, 0x30); /* pin 2: vector 0x30, fixed, physical, edge, high */
  outb(0x43, 0x34); outb(0x40, 0x9c); outb(0x40, 0x2e); /* PIT channel 0, rate generator, 100 Hz */
  __asm__ volatile("sti");
  while (pit_count < 3) __asm__ volatile("hlt");
  __asm__ volatile("cli");
  ioapic_write(0x14, 0x10030); /* mask pin 2 again */
  puts("pit via pin 2: "); putdec(pit_count >= 3); puts(" isr "); putdec(pit_isr); puts(" tmr "); putdec(pit_tmr);
  puts(" isr after "); putdec(lapic_bit(0x100, 0x30)); putc('\n');

  while ((inb(0x3f8 + 5) & 0x40) == 0) {} /* let the transmitter drain before it interrupts */
  ioapic_write(0x19, 0); ioapic_write(0x18, 0x8034); /* pin 4: vector 0x34, level-triggered */
  outb(0x3f8 + 4, 0x08); /* OUT2: the UART's interrupt reaches the bus */
  outb(0x3f8 + 1, 0x02); /* transmitter-empty interrupt on: the line goes high */
  __asm__ volatile("sti; nop; nop; cli");
  outb(0x3f8 + 1, 0x00);
  puts("uart via pin 4: count "); putdec(uart_count); puts(" isr "); putdec(uart_isr); puts(" tmr "); putdec(uart_tmr);
  puts(" remote irr "); putdec(uart_rirr_in); puts(" after eoi "); putdec(uart_rirr_after_eoi); putc('\n');
  return 0;
}
