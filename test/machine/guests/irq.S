/*
 * A multiboot guest that exercises the interrupt path through the devices: PIT channel 0 (mode 2)
 * through the 8259A on IRQ 0, the UART's THR-empty interrupt on IRQ 4, and the local APIC timer
 * (periodic, vector 0x9d), each waking the CPU from HLT. It prints a summary on COM1 and leaves
 * through isa-debug-exit with status 1 ((0 << 1) | 1); an unexpected vector prints '!' and exits 7.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header

.data
flat_gdt
idtr_of_idt
pit_count: .long 0
apic_count: .long 0
uart_count: .long 0
msg: .asciz "pit=X apic=X uart=X cur=X latch=X\n"

.bss
.align 16
idt: .space 256*8
stack_space 8192

start_on_stack
  load_flat_gdt
  # IDT: every vector -> bad; 0x20 -> pit; 0x24 -> uart; 0x9d -> apic
  set_all_gates bad
  set_gate 0x20, pit_isr
  set_gate 0x24, uart_isr
  set_gate 0x9d, apic_isr
  set_gate 0xff, spurious
  lidt idtr

  # PIC remap to 0x20/0x28, only IRQ0 unmasked
  mov $0x11, %al; out %al, $0x20; out %al, $0xa0
  mov $0x20, %al; out %al, $0x21
  mov $0x28, %al; out %al, $0xa1
  mov $0x04, %al; out %al, $0x21
  mov $0x02, %al; out %al, $0xa1
  mov $0x01, %al; out %al, $0x21; out %al, $0xa1
  mov $0xfe, %al; out %al, $0x21
  mov $0xff, %al; out %al, $0xa1
  # PIT channel 0 mode 2, count 11932
  mov $0x34, %al; out %al, $0x43
  mov $(11932 & 0xff), %al; out %al, $0x40
  mov $(11932 >> 8), %al; out %al, $0x40
  sti
3:
  hlt
  cmpl $5, pit_count
  jb 3b
  cli
  mov $0xff, %al; out %al, $0x21
  # Latch channel 0 and check the count lies in (0, 11932].
  mov $0x00, %al; out %al, $0x43
  in $0x40, %al; mov %al, %bl
  in $0x40, %al; mov %al, %bh
  movzwl %bx, %ebx
  movb $'N', msg+32
  test %ebx, %ebx
  jz 8f
  cmp $11932, %ebx
  ja 8f
  movb $'Y', msg+32
8:

  # UART THRE interrupt on IRQ4
  mov $0xef, %al; out %al, $0x21   # unmask IRQ4
  mov $0x08, %al; mov $0x3fc, %dx; out %al, %dx   # OUT2
  mov $0x02, %al; mov $0x3f9, %dx; out %al, %dx   # IER THRI
  sti
4:
  cmpl $1, uart_count
  jb 4b
  cli
  mov $0xff, %al; out %al, $0x21

  # local APIC timer, periodic, vector 0x9d, 1 ms
  movl $0x1ff, 0xfee000f0
  movl $0xb, 0xfee003e0
  movl $0x2009d, 0xfee00320
  movl $1000000, 0xfee00380
  sti
5:
  hlt
  cmpl $5, apic_count
  jb 5b
  cli
  # The running timer's current count lies in (0, 1000000].
  mov 0xfee00390, %eax
  movb $'N', msg+24
  test %eax, %eax
  jz 9f
  cmp $1000000, %eax
  ja 9f
  movb $'Y', msg+24
9:
  movl $0, 0xfee00380
  # A stopped timer reads 0.
  cmpl $0, 0xfee00390
  je 10f
  movb $'N', msg+24
10:

  mov pit_count, %eax; add $'0', %al; mov %al, msg+4
  mov apic_count, %eax; add $'0', %al; mov %al, msg+11
  mov uart_count, %eax; add $'0', %al; mov %al, msg+18
  mov $msg, %esi
6:
  lodsb
  test %al, %al
  jz 7f
  mov $0x3f8, %dx
  out %al, %dx
  jmp 6b
7:
  debug_exit 0

setgate_function

pit_isr:
  push %eax
  incl pit_count
  mov $0x20, %al; out %al, $0x20
  pop %eax
  iret
uart_isr:
  push %eax
  push %edx
  incl uart_count
  mov $0x3fa, %dx; in %dx, %al      # IIR read clears THRE
  mov $0x00, %al; mov $0x3f9, %dx; out %al, %dx   # IER off
  mov $0x20, %al; out %al, $0x20
  pop %edx
  pop %eax
  iret
apic_isr:
  incl apic_count
  movl $0, 0xfee000b0
  iret
spurious:
  iret
unexpected_vector 3
