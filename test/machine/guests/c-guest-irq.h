/*
 * Interrupts for the C test guests (after c-guest.h): an IDT of 32-bit interrupt gates, and the
 * 8259A pair remapped to vectors 0x20..0x2f. CS is 0x08, the flat code segment of the multiboot
 * loaders (QEMU's and ttd's).
 */
struct gate { u16 lo, sel; u8 zero, flags; u16 hi; } __attribute__((packed));
static struct gate idt[256];

/* IDT entry v -> h: an interrupt gate (IF cleared on entry), selector 0x08, DPL 0. */
__attribute__((unused)) static void set_gate(int v, void (*h)(void)) {
  u32 a = (u32)h;
  idt[v].lo = (u16)a;
  idt[v].hi = (u16)(a >> 16);
  idt[v].sel = 0x08;
  idt[v].zero = 0;
  idt[v].flags = 0x8e;
}

__attribute__((unused)) static void load_idt(void) {
  static struct { u16 limit; u32 base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (u32)idt };
  __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Initialises both 8259As (edge triggered, cascaded on IRQ 2, vectors 0x20 and 0x28) and masks the
   IRQs whose bits are set in master_mask (IRQ 0..7) and slave_mask (IRQ 8..15). */
__attribute__((unused)) static void pic_remap(u8 master_mask, u8 slave_mask) {
  outb(0x20, 0x11); outb(0xa0, 0x11);
  outb(0x21, 0x20); outb(0xa1, 0x28);
  outb(0x21, 0x04); outb(0xa1, 0x02);
  outb(0x21, 0x01); outb(0xa1, 0x01);
  outb(0x21, master_mask); outb(0xa1, slave_mask);
}
