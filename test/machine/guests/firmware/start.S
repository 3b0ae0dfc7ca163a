/* Multiboot entry for the firmware test guests: a stack, then main(magic, info); its return value is
   written to isa-debug-exit, which ends the run under ttd and QEMU alike. */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002
	.long 0x00000003
	.long -(0x1badb002 + 0x00000003)

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	push %ebx
	push %eax
	call main
	mov $0xf4, %dx
	out %al, %dx
1:	cli
	hlt
	jmp 1b

	.bss
	.align 16
	.space 16384
stack_top:
