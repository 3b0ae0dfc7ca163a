/*
 * Timers armed while the CPU runs (no HLT to wait in): the local APIC timer, one-shot at divide 1, is
 * armed 100 ms ahead and at once re-armed 5000 cycles ahead; then PIT channel 0 is programmed in mode 0
 * (interrupt on terminal count) for 100 clocks. After each arming the guest counts loop iterations in
 * ECX until the interrupt handler sets `fired`; the handler keeps ECX and the interrupted EIP (as an
 * offset from the loop's start), which together name the step the interrupt came at. It prints both
 * for each timer and exits with status 1.
 */
#include "c-guest.h"

struct gate { u16 off_lo, sel; u8 zero, type; u16 off_hi; } __attribute__((packed));
static struct gate idt[256];
static struct { u16 limit; u32 base; } __attribute__((packed)) idtr = { sizeof(idt) - 1, (u32)idt };
volatile u32 fired, seen_ecx, seen_eip;

#define APIC_EOI 0xfee000b0
#define APIC_SVR 0xfee000f0
#define APIC_LVT_TIMER 0xfee00320
#define APIC_INITIAL_COUNT 0xfee00380
#define APIC_DIVIDE 0xfee003e0
#define APIC_VECTOR 0x40
#define APIC_FAR 100000000
#define APIC_NEAR 5000
#define PIT_COUNT 100

static void mmio_write(u32 address, u32 value) { *(volatile u32 *)address = value; }

/* Both handlers keep ECX and the interrupted EIP (the first word of the frame), then end the interrupt. */
void apic_isr(void), pit_isr(void), spurious_isr(void);
__asm__(
  ".globl apic_isr, pit_isr, spurious_isr\n"
  "apic_isr:\n"
  "  mov %ecx, seen_ecx\n"
  "  push %eax\n"
  "  mov 4(%esp), %eax\n"
  "  mov %eax, seen_eip\n"
  "  movl $1, fired\n"
  "  movl $0, 0xfee000b0\n"
  "  pop %eax\n"
  "  iret\n"
  "pit_isr:\n"
  "  mov %ecx, seen_ecx\n"
  "  push %eax\n"
  "  mov 4(%esp), %eax\n"
  "  mov %eax, seen_eip\n"
  "  movl $1, fired\n"
  "  mov $0x20, %al\n"
  "  out %al, $0x20\n"
  "  pop %eax\n"
  "  iret\n"
  "spurious_isr:\n"
  "  iret\n");

/* The loops the guest spins in after arming each timer; their starts are what EIPs are counted from. */
extern char apic_loop[], pit_loop[];

static void set_gate(int vector, void (*handler)(void)) {
  u32 h = (u32)handler;
  u16 cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  idt[vector] = (struct gate){ (u16)h, cs, 0, 0x8e, (u16)(h >> 16) };
}

static void report(const char *name, const char *loop) {
  print(name);
  print(" ecx=");
  hex8(seen_ecx);
  print(" eip=+");
  hex8(seen_eip - (u32)loop);
  print("\n");
}

void main(void) {
  set_gate(0x20, pit_isr);
  set_gate(APIC_VECTOR, apic_isr);
  set_gate(0x27, spurious_isr);
  set_gate(0xff, spurious_isr);
  __asm__ volatile("lidt %0" : : "m"(idtr));
  /* PIC: vectors 0x20/0x28, everything masked for now. */
  outb(0x20, 0x11); outb(0xa0, 0x11);
  outb(0x21, 0x20); outb(0xa1, 0x28);
  outb(0x21, 0x04); outb(0xa1, 0x02);
  outb(0x21, 0x01); outb(0xa1, 0x01);
  outb(0x21, 0xff); outb(0xa1, 0xff);

  /* The APIC timer: one-shot, divide by 1, armed far ahead, then re-armed near; the spin follows. */
  mmio_write(APIC_SVR, 0x1ff);
  mmio_write(APIC_DIVIDE, 0xb);
  mmio_write(APIC_LVT_TIMER, APIC_VECTOR);
  fired = 0;
  __asm__ volatile(
    "sti\n"
    "movl %0, 0xfee00380\n"
    "movl %1, 0xfee00380\n"
    "xor %%ecx, %%ecx\n"
    ".globl apic_loop\n"
    "apic_loop:\n"
    "inc %%ecx\n"
    "cmpl $0, fired\n"
    "je apic_loop\n"
    "cli\n"
    : : "r"(APIC_FAR), "r"(APIC_NEAR) : "ecx", "memory", "cc");
  report("apic", apic_loop);

  /*
   * PIT channel 0 in mode 0: the control word stops the count (OUT low), an IRQ 0 edge left from
   * before (the firmware's rate generator) is taken and forgotten, then the count starts it.
   */
  outb(0x43, 0x30);
  outb(0x21, 0xfe);
  __asm__ volatile("sti; nop; cli");
  fired = 0;
  __asm__ volatile(
    "outb %%al, $0x40\n"
    "mov %%ah, %%al\n"
    "outb %%al, $0x40\n"
    "sti\n"
    "xor %%ecx, %%ecx\n"
    ".globl pit_loop\n"
    "pit_loop:\n"
    "inc %%ecx\n"
    "cmpl $0, fired\n"
    "je pit_loop\n"
    "cli\n"
    : : "a"(PIT_COUNT) : "ecx", "memory", "cc");
  report("pit", pit_loop);
  finish(0);
}
