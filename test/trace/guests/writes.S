/*
 * A multiboot guest made of the memory writes that are easy to get wrong: unaligned writes across a
 * 64-byte line, a dword across a page boundary whose two pages map to distant physical pages, pusha,
 * call/ret, rep movsl, a rep stosb that page-faults half way (its first bytes stay written; the
 * handler maps the page and the instruction resumes), int $0x80, read-modify-write instructions and
 * page-table accessed/dirty bits. It prints "ok" on COM1 and exits through isa-debug-exit with
 * status 1; an unexpected vector prints '!' and exits with status 15.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header

.data
flat_gdt
idtr_of_idt
src:
  .long 0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10, 0x11121314, 0x15161718, 0x191a1b1c, 0x1d1e1f20
  .long 0x21222324, 0x25262728, 0x292a2b2c, 0x2d2e2f30, 0x31323334, 0x35363738, 0x393a3b3c, 0x3d3e3f40

.bss
.align 4096
pd: .space 4096
pt0: .space 4096
pt1: .space 4096
idt: .space 256*8
stack_space 8192

start_on_stack
  load_flat_gdt
  set_all_gates bad
  set_gate 14, pf_handler
  set_gate 0x80, int80
  lidt idtr

  # Page tables: the first 4 MiB identity-mapped with 4 KiB pages; in the next 4 MiB, linear
  # 0x401000 -> physical 0x305000, 0x402000 -> 0x302000, and 0x403000 not present (yet).
  xor %ecx, %ecx
3:
  mov %ecx, %eax
  shl $12, %eax
  or $3, %eax
  mov %eax, pt0(,%ecx,4)
  inc %ecx
  cmp $1024, %ecx
  jne 3b
  movl $pt0 + 3, pd
  movl $pt1 + 3, pd + 4
  movl $0x305003, pt1 + 4
  movl $0x302003, pt1 + 8
  mov $pd, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0

  # Unaligned dword across the line boundary at 0x200040, and a word across 0x200080.
  movl $0x11223344, 0x20003e
  movw $0xabcd, 0x20007f
  # A dword across the page boundary at linear 0x402000: two distant physical pages.
  movl $0xdeadbeef, 0x401ffe
  # pusha/popa, call/ret with a frame.
  mov $0x1000, %eax
  pusha
  popa
  call frame_fn
  # rep movsl: 64 bytes to 0x201000.
  mov $src, %esi
  mov $0x201000, %edi
  mov $16, %ecx
  cld
  rep movsl
  # rep stosb across into the unmapped page 0x403000: 16 bytes, #PF, the handler maps it, 16 more.
  mov $0x402ff0, %edi
  mov $32, %ecx
  mov $0x5a, %al
  rep stosb
  # A software interrupt whose handler writes memory.
  int $0x80
  # Read-modify-write and exchange with memory, and a byte string move.
  addl $5, 0x200100
  mov $0x77, %eax
  xchg %eax, 0x200104
  mov $0x201000, %esi
  mov $0x201fff, %edi
  movsb
  # "ok\n" on COM1, then exit with status (0 << 1) | 1.
  mov $0x3f8, %dx
  mov $'o', %al
  out %al, %dx
  mov $'k', %al
  out %al, %dx
  mov $'\n', %al
  out %al, %dx
  debug_exit 0

frame_fn:
  push %ebp
  mov %esp, %ebp
  sub $8, %esp
  movl $0x12345678, -4(%ebp)
  movb $0x9a, -5(%ebp)
  leave
  ret

setgate_function

pf_handler:
  push %eax
  movl $0x303003, pt1 + 12
  pop %eax
  add $4, %esp
  iret

int80:
  movl $0x80, 0x200100
  iret

unexpected_vector 7
