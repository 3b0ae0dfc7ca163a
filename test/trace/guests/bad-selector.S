/*
 * A multiboot guest that loads DS with a selector it read from memory, after a store loop that ran one
 * slot too far put a selector there that names a descriptor marked not present: the load raises #NP
 * with that selector as its error code. There is no IDT, so the #NP ends the run in a triple fault.
 * `ttd explain` must name the selector, where it was read from, and the loop's store as the root.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header 0

.data
.align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff      /* 0x08: code */
  .quad 0x00cf92000000ffff      /* 0x10: data */
  .quad 0x00cf12000000ffff      /* 0x18: data, not present */
gdtr:
  .word 31
  .long gdt
.globl slots, saved_ds
.type slots, @object
.size slots, 4
slots:
  .word 0x10, 0x10              /* two slots */
.type saved_ds, @object
.size saved_ds, 2
saved_ds:
  .word 0x10                    /* the selector DS is reloaded from */

.bss
stack_space 4096

.text
.globl _start, fill_slots, reload_ds
.type fill_slots, @function
.type reload_ds, @function
_start:
  load_flat_gdt
  mov $stack_top, %esp
  mov $0x18, %ax
  call fill_slots
  call reload_ds
  hlt

/* Stores AX into three slots where there are two: the third store lands on saved_ds. */
fill_slots:
  mov $slots, %edi
  mov $3, %ecx
2:
  mov %ax, (%edi)
  add $2, %edi
  loop 2b
  ret

reload_ds:
  mov saved_ds, %bx
  mov %bx, %ds
  ret
