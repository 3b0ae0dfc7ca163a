/* Multiboot entry for the C test guests: a stack, then main(). */
.section .multiboot, "a"
.align 4
.long 0x1BADB002
.long 0x3
.long -(0x1BADB002 + 3)

.text
.globl _start
_start:
  mov $stack_top, %esp
  call main
1:
  cli
  hlt
  jmp 1b

.bss
.align 16
stack: .space 16384
stack_top:
