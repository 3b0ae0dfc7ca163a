/*
 * A multiboot guest that copies the first 16 bytes of its first boot module into a buffer with
 * rep movsb, loads a dword of the copy, prints its low byte on COM1 and exits through
 * isa-debug-exit with status 1. Given two modules that differ in one byte, the first thing that
 * differs between the two runs is a store (an iteration of the copy), before any register does:
 * what `ttd diff` must find.
 */
.section .multiboot, "a"
.align 4
.long 0x1BADB002
.long 0x3
.long -(0x1BADB002 + 3)

.bss
.align 16
copy: .space 16

.text
.globl _start
_start:
  mov 24(%ebx), %esi      /* multiboot info: mods_addr */
  mov (%esi), %esi        /* the first module's start */
  mov $copy, %edi
  mov $16, %ecx
  cld
  rep movsb
  mov copy+4, %eax
  mov $0x3f8, %dx
  out %al, %dx
  mov $0xf4, %dx
  xor %eax, %eax
  out %al, %dx
  hlt
