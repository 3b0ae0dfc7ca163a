/*
 * Multiboot v1 entry of the workload guest. The loader leaves EAX = 0x2badb002, EBX = the info
 * pointer and the other registers undefined, and emulators fill them differently: everything is
 * cleared here so that QEMU, v86 and ttd all start workload_main from one state.
 */
#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_FLAGS 0
#define DEBUG_EXIT_PORT 0xf4

    .section .multiboot, "a"
    .p2align 2
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

    .section .bss
    .p2align 4
    .global stack_base
stack_base:
    .skip 16384
    .global stack_end
stack_end:

    .section .text
    .global _start
    .type _start, @function
_start:
    xor %eax, %eax
    xor %ecx, %ecx
    xor %edx, %edx
    xor %ebx, %ebx
    xor %esp, %esp
    xor %ebp, %ebp
    xor %esi, %esi
    xor %edi, %edi
    mov $stack_end, %esp
    /* EFLAGS too: only the reserved bit 1 set (interrupts stay off for the whole run). */
    pushl $0x2
    popfl
    call workload_main
    /* workload_main returns the isa-debug-exit value: QEMU exits with (value << 1) | 1. */
    outb %al, $DEBUG_EXIT_PORT
    cli
.Lstop:
    hlt
    jmp .Lstop
    .size _start, . - _start
