/*
 * Fatal kernel exceptions, reported in seL4's format, and halt().
 */
#include "kernel.h"

static word_t read_cr0(void)
{
    word_t v;
    __asm__ volatile("movl %%cr0, %0" : "=r"(v));
    return v;
}

static word_t read_cr2(void)
{
    word_t v;
    __asm__ volatile("movl %%cr2, %0" : "=r"(v));
    return v;
}

static word_t read_cr3(void)
{
    word_t v;
    __asm__ volatile("movl %%cr3, %0" : "=r"(v));
    return v;
}

static word_t read_cr4(void)
{
    word_t v;
    __asm__ volatile("movl %%cr4, %0" : "=r"(v));
    return v;
}

/* Like seL4's debug build: name the last way into the kernel. */
static void print_kernel_entry_reason(void)
{
    switch (ksKernelEntry.path) {
    case Entry_Interrupt:
        kprintf("Kernel entry via Interrupt, irq %lu\n", ksKernelEntry.word);
        break;
    case Entry_Syscall:
        kprintf("Kernel entry via Syscall, number: %ld\n", (sword_t)ksKernelEntry.word);
        break;
    case Entry_UserLevelFault:
        kprintf("Kernel entry via User level fault, vector %lu\n", ksKernelEntry.word);
        break;
    default:
        kprintf("Kernel entry via nothing yet (still booting)\n");
        break;
    }
}

NORETURN void halt(word_t exit_value)
{
    kprintf("halting...\n");
    print_kernel_entry_reason();
    machine_exit(exit_value);
}

/*
 * A CPU exception in ring 0. `frame` is the stub's frame, laid out like a
 * TCB's registers (frame[Error], frame[NextIP], ...). A ring-0 exception
 * pushes no ESP/SS, so the interrupted stack pointer is where frame[ESP]
 * would be. The output matches seL4 12.1.0's handleKernelException.
 */
NORETURN void handleKernelException(word_t vector, word_t *frame)
{
    word_t *sp = &frame[ESP];
    kprintf("\n========== KERNEL EXCEPTION ==========\n");
    kprintf("Vector:  0x%lx\n", vector);
    kprintf("ErrCode: 0x%lx\n", frame[Error]);
    kprintf("IP:      0x%lx\n", frame[NextIP]);
    kprintf("SP:      0x%lx\n", (word_t)sp);
    kprintf("FLAGS:   0x%lx\n", frame[FLAGS]);
    kprintf("CR0:     0x%lx\n", read_cr0());
    kprintf("CR2:     0x%lx (page-fault address)\n", read_cr2());
    kprintf("CR3:     0x%lx (page-directory physical address)\n", read_cr3());
    kprintf("CR4:     0x%lx\n", read_cr4());
    kprintf("\nStack Dump:\n");
    for (int i = 0; i < 20; i++) {
        kprintf("*0x%lx == 0x%lx\n", (word_t)&sp[i], sp[i]);
    }
    kprintf("\nHalting...\n");
    halt(EXIT_KERNEL_EXCEPTION);
}
