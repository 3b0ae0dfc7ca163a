/*
 * Kernel initialisation, entered from boot.S once paging is on and the
 * kernel runs at its high addresses on the kernel stack.
 */
#include "kernel.h"

#ifdef FIXED
#define IDLE_THREAD_KIND "naked hlt loop (the seL4 13.0.0 fix)"
#else
#define IDLE_THREAD_KIND "C function with a frame-pointer prologue (seL4 12.1.0)"
#endif

/* The one kernel stack (seL4's name). Every kernel entry from a thread
 * starts again at its top; nothing survives on it between entries. */
char kernel_stack_alloc[KERNEL_STACK_SIZE] ALIGN(16);

NORETURN void init_kernel(void);

NORETURN void init_kernel(void)
{
    serial_init();
    kprintf("ttd demo kernel: seL4-style ia32 entry and exit\n");
    kprintf("idle_thread: %s\n", IDLE_THREAD_KIND);
    init_cpu();
    init_vspaces();
    init_threads();
    kprintf("threads: receiver blocks in Recv, sender sleeps 2 ticks then Sends\n");
    kprintf("timer: local APIC, vector %d, periodic\n", VECTOR_TIMER);
    /* Last, so that no tick is pending before the first thread runs; the
     * kernel itself always runs with interrupts off. */
    apic_start_timer();
    restore_user_context();
}
