/*
 * Constants shared by the C and assembly sources of the demo kernel.
 * Only #defines live here so that boot.S and traps.S can include it too.
 */
#ifndef KERNEL_CONFIG_H
#define KERNEL_CONFIG_H

/* seL4 ia32 maps physical memory at 0xe0000000: the kernel is linked at
 * 0xe0100000 and loaded at physical 1 MiB, so virtual = physical + this. */
#define KERNEL_OFFSET 0xe0000000

/* GDT selectors, in the order seL4 ia32 lays out its 8-entry GDT. The user
 * selectors carry RPL 3. sysenter/sysexit derive SS0, CS3 and SS3 from
 * SYSENTER_CS = SEL_CS_0, which is why CS0, DS0, CS3, DS3 must be adjacent. */
#define SEL_NULL 0x00
#define SEL_CS_0 0x08
#define SEL_DS_0 0x10
#define SEL_CS_3 0x1b
#define SEL_DS_3 0x23
#define SEL_TSS 0x28
#define SEL_FS 0x33
#define SEL_GS 0x3b
#define GDT_ENTRIES 8

/* Interrupt vectors. The local APIC timer uses seL4's 157 (0x9d); vectors
 * below 0x20 are CPU exceptions. */
#define VECTOR_TIMER 157
#define VECTOR_SPURIOUS 0xff
#define VECTOR_FIRST_IRQ 0x20

/* EFLAGS bits. */
#define FLAGS_IF 0x200
/* Bit 1 of EFLAGS always reads as 1; user threads start with only IF set. */
#define FLAGS_USER_DEFAULT 0x202

/* Kernel stack: one, like seL4 without SMP. */
#define KERNEL_STACK_SIZE 4096

/* The tcb_t sits this far into its 2048-byte TCB object (seL4 ia32
 * TCB_OFFSET); below it seL4 keeps the TCB's CNode. */
#define TCB_OBJECT_SIZE 2048
#define TCB_OFFSET 0x400

/* Values written to the isa-debug-exit port (0xf4). QEMU exits with status
 * (value << 1) | 1, so these give 33, 35 and 37. */
#define EXIT_ALL_OK 0x10
#define EXIT_KERNEL_EXCEPTION 0x11
#define EXIT_FAILED 0x12
#define DEBUG_EXIT_PORT 0xf4

#endif
