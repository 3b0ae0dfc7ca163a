/*
 * Multiboot (v1) entry and the switch to the high kernel.
 *
 * The loader enters _start in 32-bit protected mode with flat segments,
 * paging off and EAX = 0x2BADB002. This stub runs at its physical (= link)
 * address in low memory, like seL4's .phys.text: it clears the kernel's BSS,
 * builds a page directory of 4 MiB pages that maps both the identity window
 * (for the next few instructions) and the kernel window at 0xe0000000, turns
 * paging on and jumps to the kernel linked high.
 */
#include "config.h"

#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_LOADER_MAGIC 0x2badb002
/* No flags: the kernel needs neither the memory map nor aligned modules, and
 * it is an ELF file, so the loader takes load addresses from the program
 * headers. */
#define MULTIBOOT_FLAGS 0

#define PDE_P 0x001
#define PDE_RW 0x002
#define PDE_PWT 0x008
#define PDE_PCD 0x010
#define PDE_PS 0x080 /* 4 MiB page (needs CR4.PSE) */
#define PDE_G 0x100  /* global: survives CR3 reloads (needs CR4.PGE) */

/* CR4 = 0x290 and CR0 = 0x8001003b, the values of the seL4 log. TS stays set
 * as seL4's lazy FPU switching leaves it; this kernel never touches the FPU,
 * so OSFXSR only mirrors seL4's configuration. */
#define CR4_VALUE 0x290        /* PSE | PGE | OSFXSR */
#define CR0_VALUE 0x8001003b   /* PG | WP | NE | ET | TS | MP | PE */

#define APIC_WINDOW 0xfec00000 /* the 4 MiB page holding the local APIC at 0xfee00000 */

    .section .mbh, "a"
    .align 4
multiboot_header:
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

    .section .boot.text, "ax"
    .code32
    .globl _start
    .type _start, @function
_start:
    cli
    cmpl $MULTIBOOT_LOADER_MAGIC, %eax
    jne boot_failed

    /* Clear .bss and the idle TCB section through their physical addresses:
     * the page directory built below lives there too. */
    cld
    movl $(__bss_start - KERNEL_OFFSET), %edi
    movl $(__bss_end - KERNEL_OFFSET), %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    /* Boot page directory = the kernel's global one (ia32KSGlobalPD). */
    movl $(ia32KSGlobalPD - KERNEL_OFFSET), %edi
    /* Identity map of the first 4 MiB, so that this code keeps running
     * the moment paging turns on; init_vspaces() removes it. */
    movl $(0 | PDE_PS | PDE_RW | PDE_P), 0(%edi)
    /* Kernel window: 0xe0000000 -> physical 0, global as in seL4. One 4 MiB
     * page covers the whole image (loaded at 1 MiB). */
    movl $(0 | PDE_G | PDE_PS | PDE_RW | PDE_P), ((KERNEL_OFFSET >> 22) * 4)(%edi)
    /* Local APIC registers, identity mapped and uncached. */
    movl $(APIC_WINDOW | PDE_G | PDE_PS | PDE_PCD | PDE_PWT | PDE_RW | PDE_P), ((APIC_WINDOW >> 22) * 4)(%edi)
    movl %edi, %cr3

    movl $CR4_VALUE, %eax
    movl %eax, %cr4
    movl $CR0_VALUE, %eax
    movl %eax, %cr0

    /* An absolute jump: boot_high's address is in the kernel window. */
    movl $boot_high, %eax
    jmp *%eax

boot_failed:
    /* Not started by a multiboot loader: nothing sensible to report to. */
    hlt
    jmp boot_failed
    .size _start, . - _start

    .text
    .type boot_high, @function
boot_high:
    movl $(kernel_stack_alloc + KERNEL_STACK_SIZE), %esp
    xorl %ebp, %ebp /* end of the frame-pointer chain for debuggers */
    call init_kernel
    /* init_kernel never returns: it leaves through restore_user_context. */
1:  hlt
    jmp 1b
    .size boot_high, . - boot_high
