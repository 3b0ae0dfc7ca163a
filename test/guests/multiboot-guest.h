/*
 * The pieces every assembly test guest starts from, as assembler macros: the multiboot (v1) header,
 * the entry on a stack of its own, a flat GDT, IDT gates and the leave through isa-debug-exit.
 * Guests `#include` this file (clang preprocesses .S files) and are linked at 1 MiB or 2 MiB with
 * the .multiboot section first.
 */

/* The multiboot header; flags 3 asks for page-aligned modules and the memory fields. */
.macro multiboot_header flags=3
  .pushsection .multiboot, "a"
  .align 4
  .long 0x1BADB002
  .long \flags
  .long -(0x1BADB002 + \flags)
  .popsection
.endm

/* `stack` .. `stack_top`: SIZE bytes of stack, 16-byte aligned, in .bss. */
.macro stack_space size
  .pushsection .bss
  .align 16
stack: .space \size
stack_top:
  .popsection
.endm

/* The entry point, running on the stack that stack_space made. */
.macro start_on_stack
  .text
  .globl _start
_start:
  mov $stack_top, %esp
.endm

/* `gdt` and `gdtr`: 0x08 is flat 32-bit code, 0x10 flat data (base 0, limit 4 GiB). */
.macro flat_gdt
  .align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtr:
  .word 23
  .long gdt
.endm

/* Loads `gdtr` and reloads CS with 0x08 and DS, ES and SS with 0x10. */
.macro load_flat_gdt
  lgdt gdtr
  ljmp $0x08, $1f
1:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
.endm

/* `idtr` (in .data) for the 256 gates of `idt` (in .bss, 8-byte aligned or better). */
.macro idtr_of_idt
idtr:
  .word 256*8-1
  .long idt
.endm

/* `setgate`: IDT entry %ecx -> handler %eax, a 32-bit interrupt gate, selector 0x08, DPL 0. */
.macro setgate_function
setgate:
  mov %ax, idt(,%ecx,8)
  movw $0x08, idt+2(,%ecx,8)
  movw $0x8e00, idt+4(,%ecx,8)
  shr $16, %eax
  mov %ax, idt+6(,%ecx,8)
  ret
.endm

/* Points IDT entry VECTOR at HANDLER (clobbers %eax and %ecx). */
.macro set_gate vector, handler
  mov $\vector, %ecx
  mov $\handler, %eax
  call setgate
.endm

/* Points all 256 IDT entries at HANDLER (clobbers %eax and %ecx). */
.macro set_all_gates handler
  xor %ecx, %ecx
1:
  mov $\handler, %eax
  call setgate
  inc %ecx
  cmp $256, %ecx
  jne 1b
.endm

/* Leaves through isa-debug-exit at 0xf4: QEMU exits with status (CODE << 1) | 1. */
.macro debug_exit code
  mov $\code, %eax
  out %eax, $0xf4
  hlt
.endm

/* `bad`: a handler for the vectors a guest does not expect: prints '!' on COM1, then debug_exit CODE. */
.macro unexpected_vector code
bad:
  mov $'!', %al
  mov $0x3f8, %dx
  out %al, %dx
  debug_exit \code
.endm
