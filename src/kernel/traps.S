/*
 * Kernel entry: interrupt/exception stubs and the sysenter entry point.
 *
 * As in seL4 ia32 there is no separate "trap frame": the CPU and the stubs
 * push the user context straight into the current thread's TCB. On every
 * exit restore_user_context() sets TSS.esp0 = &registers[SS + 1], so an
 * interrupt taken in ring 3 makes the CPU switch to that address and push
 *     SS -> [14], ESP -> [13], EFLAGS -> [12], CS -> [11], EIP -> [10]
 * (and, for vectors 8, 10-14 and 17, an error code -> [9]). Each stub then
 * pushes
 *     the error code or $0 -> [9], a copy of NextIP as FaultIP -> [8],
 *     EBP, EDI, ESI, EDX, ECX, EBX, EAX -> [7] .. [1], $0 padding -> [0]
 * leaving ESP = &registers[0]. Only then does the kernel switch to its own
 * stack.
 *
 * The idle thread runs in ring 0, where an interrupt does not switch stacks:
 * the CPU pushes at the idle thread's current ESP. restore_user_context()
 * irets to it with ESP = &registers[ESP], so the pushes land on [12] .. [0]
 * exactly like a ring-3 entry, which is why the common handler accepts a
 * ring-0 interrupt whose ESP lies in the idle thread's section as a normal
 * user entry. Anything that moves the idle thread's ESP breaks this.
 */
#include "config.h"

/* Byte offset of the saved CS from registers[0], where ESP points once a
 * stub has pushed everything. */
#define FRAME_CS (11 * 4)

#define KERNEL_STACK_TOP (kernel_stack_alloc + KERNEL_STACK_SIZE)

/* One stub per vector. has_error_code says whether the CPU pushes one. */
.macro INT_HANDLER vector, has_error_code
    .globl int_\vector
    .type int_\vector, @function
int_\vector:
    .if \has_error_code == 0
    pushl $0              /* [Error] */
    .endif
    pushl 4(%esp)         /* [FaultIP] = copy of [NextIP] */
    pushl %ebp            /* [EBP] */
    pushl %edi            /* [EDI] */
    pushl %esi            /* [ESI] */
    pushl %edx            /* [EDX] */
    pushl %ecx            /* [ECX] */
    pushl %ebx            /* [EBX] */
    pushl %eax            /* [EAX] */
    pushl $0              /* [0], padding */
    movl $\vector, %ecx   /* ECX is saved, so it can carry the vector */
    jmp handle_interrupt
    .size int_\vector, . - int_\vector
.endm

    .text
    INT_HANDLER 0, 0
    INT_HANDLER 1, 0
    INT_HANDLER 2, 0
    INT_HANDLER 3, 0
    INT_HANDLER 4, 0
    INT_HANDLER 5, 0
    INT_HANDLER 6, 0
    INT_HANDLER 7, 0
    INT_HANDLER 8, 1
    INT_HANDLER 9, 0
    INT_HANDLER 10, 1
    INT_HANDLER 11, 1
    INT_HANDLER 12, 1
    INT_HANDLER 13, 1
    INT_HANDLER 14, 1
    INT_HANDLER 15, 0
    INT_HANDLER 16, 0
    INT_HANDLER 17, 1
    INT_HANDLER 18, 0
    INT_HANDLER 19, 0
    INT_HANDLER 20, 0
    INT_HANDLER 21, 0
    INT_HANDLER 22, 0
    INT_HANDLER 23, 0
    INT_HANDLER 24, 0
    INT_HANDLER 25, 0
    INT_HANDLER 26, 0
    INT_HANDLER 27, 0
    INT_HANDLER 28, 0
    INT_HANDLER 29, 0
    INT_HANDLER 30, 0
    INT_HANDLER 31, 0
    INT_HANDLER 157, 0    /* local APIC timer */
    INT_HANDLER 255, 0    /* local APIC spurious vector */

/*
 * Common path, entered with ESP = &frame[0] and ECX = vector. Which stack the
 * frame is on follows from the saved CS and ESP, the same decision seL4 ia32
 * makes:
 *   - CS in ring 3: a user entry; the frame is in ksCurThread's registers.
 *   - CS in ring 0, vector >= 0x20 and ESP inside the idle thread's section:
 *     the idle thread was interrupted; its frame is in the idle TCB, so it is
 *     handled exactly like a user entry.
 *   - CS in ring 0 otherwise: the kernel itself faulted (vector < 0x20); the
 *     frame is on the kernel's current stack and the fault is fatal. (The
 *     kernel runs with interrupts off, so a ring-0 interrupt outside the idle
 *     thread cannot happen; it is reported the same way if it ever does.)
 */
    .type handle_interrupt, @function
handle_interrupt:
    cld                   /* the C code assumes DF = 0 whatever the thread had */
    testl $3, FRAME_CS(%esp)
    jnz 1f
    cmpl $VECTOR_FIRST_IRQ, %ecx
    jb kernel_exception
    cmpl $__idle_thread_start, %esp
    jb kernel_exception
    cmpl $__idle_thread_end, %esp
    jae kernel_exception
1:  movl $KERNEL_STACK_TOP, %esp
    pushl %ecx
    call c_handle_interrupt   /* does not return: exits via restore_user_context */

kernel_exception:
    /* Stay on the stack the fault happened on: the report prints the words
     * above the interrupted SP, which the C handler's frame does not touch. */
    movl %esp, %eax
    pushl %eax                /* frame */
    pushl %ecx                /* vector */
    call handleKernelException
    .size handle_interrupt, . - handle_interrupt

/*
 * sysenter entry. The user stub passes its ESP in ECX and its return address
 * in EDX (sysenter saves neither). IA32_SYSENTER_ESP points at x86KStss.esp0
 * (as in seL4 ia32), so the first load fetches the same &registers[SS + 1]
 * that an interrupt from ring 3 would use, and one store per exit serves
 * both ways in. The frame built here has the shape of an interrupt frame,
 * with Error = -1 marking that the thread returns through sysexit.
 */
    .globl handle_syscall
    .type handle_syscall, @function
handle_syscall:
    movl (%esp), %esp         /* ESP = x86KStss.esp0 = &registers[SS + 1] */
    pushl $SEL_DS_3           /* [SS] */
    pushl %ecx                /* [ESP] */
    pushfl                    /* [FLAGS]: sysenter cleared IF, the user had it */
    orl $FLAGS_IF, (%esp)
    pushl $SEL_CS_3           /* [CS] */
    pushl %edx                /* [NextIP] */
    pushl $-1                 /* [Error] = -1: a system call */
    pushl %edx                /* [FaultIP] = the 2-byte sysenter itself */
    subl $2, (%esp)
    pushl %ebp                /* [EBP] */
    pushl %edi                /* [EDI] */
    pushl %esi                /* [ESI] */
    pushl %edx                /* [EDX] */
    pushl %ecx                /* [ECX] */
    pushl %ebx                /* [EBX] */
    pushl %eax                /* [EAX] = system call number */
    pushl $0                  /* [0], padding */
    cld
    movl $KERNEL_STACK_TOP, %esp
    pushl %eax
    call c_handle_syscall     /* does not return */
    .size handle_syscall, . - handle_syscall

/* Stub addresses for vectors 0..31, read by the IDT setup. */
    .section .rodata
    .align 4
    .globl x86_exception_stubs
x86_exception_stubs:
    .irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .long int_\v
    .endr
