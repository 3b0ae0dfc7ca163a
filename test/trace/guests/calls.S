/*
 * A multiboot guest whose writes are reached through the call shapes a kernel has, for the call path
 * (src/query/call-path.ts). Each write stores to its own label, so a test asks who wrote it and
 * through which calls:
 *
 *  target1: _start -> outer -> middle -> (an indirect call through a retpoline-style thunk, which makes
 *           a call of its own and returns into the target) -> inner.
 *  target2: `int $0x40` from _start -> handler, which switches to a stack of its own (as Linux's
 *           interrupt stack) and calls work.
 *  target3: _start -> switcher -> a_level1 -> do_switch, which saves the stack pointer and loads that
 *           of a second "task", returning into b_entry -> b_work. The frames left on the first stack
 *           are dormant, not callers of b_work. b_entry then switches back, and the guest halts.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header

start_on_stack
  call setup_idt
  call outer
  int $0x40
  call switcher
  cli
  hlt

setup_idt:
  mov $handler, %eax
  mov %ax, idt + 0x40 * 8
  mov %cs, %bx
  mov %bx, idt + 0x40 * 8 + 2
  movw $0x8e00, idt + 0x40 * 8 + 4
  shr $16, %eax
  mov %ax, idt + 0x40 * 8 + 6
  lidt idtr
  ret

outer:
  push %ebp
  mov %esp, %ebp
  call middle
  pop %ebp
  ret

middle:
  mov $inner, %eax
  call thunk_eax
  ret

/* The shape of Linux's __x86_indirect_thunk_eax: call, overwrite the return address, return. */
thunk_eax:
  call 1f
2:
  pause
  jmp 2b
1:
  mov %eax, (%esp)
  ret

inner:
  movl $1, target1
  ret

handler:
  pusha
  mov %esp, %ebx
  mov $irq_stack_top, %esp
  call work
  mov %ebx, %esp
  popa
  iret

work:
  movl $2, target2
  ret

switcher:
  call a_level1
  ret

a_level1:
  call do_switch
  ret

/* Saves this task's stack pointer and returns on the other task's stack, into b_entry. */
do_switch:
  mov %esp, saved_a
  mov $b_stack_top - 4, %esp
  movl $b_entry, (%esp)
  ret

b_entry:
  call b_work
  /* Back to the first task: its do_switch returns into a_level1. */
  mov saved_a, %esp
  ret

b_work:
  movl $3, target3
  ret

.data
.align 4
idtr:
  .word 256 * 8 - 1
  .long idt
target1: .long 0
target2: .long 0
target3: .long 0
saved_a: .long 0

.bss
.align 8
idt: .space 256 * 8
stack_space 4096
irq_stack: .space 1024
irq_stack_top:
b_stack: .space 1024
b_stack_top:
