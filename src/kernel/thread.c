/*
 * Threads, scheduling, the Send/Recv rendezvous, the C side of every kernel
 * entry, and the way out: restore_user_context().
 */
#include "kernel.h"

/* The idle TCB, as seL4 declares it: a whole TCB object in a section of its
 * own, so that traps.S can recognise the idle thread by its ESP alone. The
 * linker script brackets it with __idle_thread_start/__idle_thread_end. */
char ksIdleThreadTCB[TCB_OBJECT_SIZE] ALIGN(TCB_OBJECT_SIZE) SECTION("._idle_thread");
tcb_t *ksIdleThread;
tcb_t *ksCurThread;
kernel_entry_t ksKernelEntry;

#define USER_THREADS 2
#define RECEIVER 0
#define SENDER 1
static char user_tcb_objects[USER_THREADS][TCB_OBJECT_SIZE] ALIGN(TCB_OBJECT_SIZE);
static tcb_t *user_threads[USER_THREADS];

/* The one endpoint (capability pointer DEMO_EP_CPTR in user space). */
static endpoint_t demo_endpoint;

static word_t timer_ticks;      /* every APIC timer interrupt */
static word_t idle_timer_ticks; /* those that interrupted the idle thread */
static word_t ipc_transfers;    /* messages delivered through the endpoint */

static inline word_t *registers_of(tcb_t *t) { return t->tcbArch.tcbContext.registers; }
static inline word_t state_of(tcb_t *t) { return thread_state_get_tsType(&t->tcbState); }
static inline void set_state(tcb_t *t, word_t s) { thread_state_set_tsType(&t->tcbState, s); }
static inline tcb_t *tcb_in_object(char *object) { return (tcb_t *)(object + TCB_OFFSET); }

static void configure_idle_thread(void)
{
    ksIdleThread = tcb_in_object(ksIdleThreadTCB);
    word_t *r = registers_of(ksIdleThread);
    /* What seL4's configureIdleThread sets on ia32: interrupts on, ring-0
     * code and stack selectors, NextIP = idle_thread. ESP and EBP stay 0:
     * the idle thread never gets a stack. Error stays 0, so the idle thread
     * is always resumed through iret. */
    r[FLAGS] = FLAGS_USER_DEFAULT;
    r[NextIP] = (word_t)idle_thread;
    r[CS] = SEL_CS_0;
    r[SS] = SEL_DS_0;
    set_state(ksIdleThread, ThreadState_IdleThreadState);
    ksIdleThread->tcbVSpaceRoot = kpptr_to_paddr(ia32KSGlobalPD);
    ksIdleThread->tcbName = "idle";
}

static tcb_t *create_user_thread(int index, void (*entry)(void), const char *name, word_t badge)
{
    tcb_t *t = tcb_in_object(user_tcb_objects[index]);
    word_t *r = registers_of(t);
    r[FLAGS] = FLAGS_USER_DEFAULT;
    r[NextIP] = (word_t)entry;
    r[CS] = SEL_CS_3;
    r[ESP] = USER_STACK_TOP;
    r[SS] = SEL_DS_3;
    t->tcbVSpaceRoot = create_user_vspace(index);
    t->tcbBadge = badge;
    t->tcbName = name;
    set_state(t, ThreadState_Running);
    return t;
}

void init_threads(void)
{
    configure_idle_thread();
    user_threads[RECEIVER] = create_user_thread(RECEIVER, receiver_main, "receiver", 0);
    user_threads[SENDER] = create_user_thread(SENDER, sender_main, "sender", DEMO_SENDER_BADGE);
    /* The receiver runs first, so it is blocked in Recv before the sender
     * ever sends: the scenario of the original report. */
    ksCurThread = user_threads[RECEIVER];
}

/* ---- scheduling -------------------------------------------------------- */

/* Keep the current thread while it can run; otherwise the first runnable
 * user thread after it; otherwise idle. */
static void schedule(void)
{
    if (ksCurThread != ksIdleThread && state_of(ksCurThread) == ThreadState_Running) {
        return;
    }
    int start = ksCurThread == user_threads[RECEIVER] ? SENDER : RECEIVER;
    for (int i = 0; i < USER_THREADS; i++) {
        tcb_t *t = user_threads[(start + i) % USER_THREADS];
        if (state_of(t) == ThreadState_Running) {
            ksCurThread = t;
            return;
        }
    }
    ksCurThread = ksIdleThread;
}

/* ---- IPC: seL4-style rendezvous on an endpoint ------------------------- */

static void ep_append(endpoint_t *ep, tcb_t *t)
{
    t->tcbEPNext = 0;
    if (ep->tail) {
        ep->tail->tcbEPNext = t;
    } else {
        ep->head = t;
    }
    ep->tail = t;
}

static tcb_t *ep_pop(endpoint_t *ep)
{
    tcb_t *t = ep->head;
    ep->head = t->tcbEPNext;
    if (!ep->head) {
        ep->tail = 0;
        ep->state = EPState_Idle;
    }
    t->tcbEPNext = 0;
    t->tcbBlockingObject = 0;
    return t;
}

/* A message is the sender's ESI (info) and EDI (one message register); the
 * receiver gets them in the same registers and the sender's badge in EBX. */
static void transfer(tcb_t *sender, tcb_t *receiver)
{
    word_t *s = registers_of(sender);
    word_t *r = registers_of(receiver);
    r[EBX] = sender->tcbBadge;
    r[ESI] = s[ESI];
    r[EDI] = s[EDI];
    ipc_transfers++;
}

static void block_on(tcb_t *t, endpoint_t *ep, word_t state, word_t ep_state)
{
    set_state(t, state);
    t->tcbBlockingObject = ep;
    ep->state = ep_state;
    ep_append(ep, t);
}

static void send_ipc(tcb_t *sender, endpoint_t *ep)
{
    if (ep->state == EPState_Recv) {
        tcb_t *receiver = ep_pop(ep);
        transfer(sender, receiver);
        set_state(receiver, ThreadState_Running);
    } else {
        block_on(sender, ep, ThreadState_BlockedOnSend, EPState_Send);
    }
}

static void receive_ipc(tcb_t *receiver, endpoint_t *ep)
{
    if (ep->state == EPState_Send) {
        tcb_t *sender = ep_pop(ep);
        transfer(sender, receiver);
        set_state(sender, ThreadState_Running);
    } else {
        block_on(receiver, ep, ThreadState_BlockedOnReceive, EPState_Recv);
    }
}

/* ---- kernel entries ---------------------------------------------------- */

static void handle_timer_tick(void)
{
    timer_ticks++;
    if (ksCurThread == ksIdleThread) {
        idle_timer_ticks++;
    }
    for (int i = 0; i < USER_THREADS; i++) {
        tcb_t *t = user_threads[i];
        /* Sleeping threads wait like seL4 threads wait on a notification,
         * with no endpoint. The signed difference survives wrap-around. */
        if (state_of(t) == ThreadState_BlockedOnNotification && (sword_t)(timer_ticks - t->tcbWakeTick) >= 0) {
            set_state(t, ThreadState_Running);
        }
    }
    apic_ack();
}

NORETURN void c_handle_interrupt(word_t vector)
{
    ksKernelEntry.path = Entry_Interrupt;
    ksKernelEntry.word = vector;
    if (vector < VECTOR_FIRST_IRQ) {
        /* An exception raised by a user thread. seL4 would send a fault
         * message to the thread's handler; the demo has none and stops. */
        word_t *r = registers_of(ksCurThread);
        ksKernelEntry.path = Entry_UserLevelFault;
        kprintf("user fault in %s: vector 0x%lx, error 0x%lx, IP 0x%lx, SP 0x%lx\n", ksCurThread->tcbName, vector,
                r[Error], r[FaultIP], r[ESP]);
        halt(EXIT_FAILED);
    }
    if (vector == VECTOR_TIMER) {
        handle_timer_tick();
    } else if (vector != VECTOR_SPURIOUS) {
        /* Spurious interrupts need no EOI and no action; nothing else is
         * routed to the CPU. */
        kprintf("unexpected interrupt vector 0x%lx\n", vector);
        halt(EXIT_FAILED);
    }
    schedule();
    restore_user_context();
}

static NORETURN void demo_done(word_t errors, word_t rounds)
{
    kprintf("receiver done: %lu rounds, %lu errors\n", rounds, errors);
    if (errors == 0 && rounds == ipc_transfers && idle_timer_ticks >= 100) {
        kprintf("ALL OK: %lu IPC rounds, %lu timer interrupts taken while idle\n", ipc_transfers, idle_timer_ticks);
        machine_exit(EXIT_ALL_OK);
    }
    kprintf("FAILED: %lu IPC transfers, %lu errors, %lu timer interrupts taken while idle (100 needed)\n",
            ipc_transfers, errors, idle_timer_ticks);
    machine_exit(EXIT_FAILED);
}

NORETURN void c_handle_syscall(sword_t number)
{
    ksKernelEntry.path = Entry_Syscall;
    ksKernelEntry.word = (word_t)number;
    word_t *r = registers_of(ksCurThread);
    switch (number) {
    case SysSend:
    case SysRecv:
        if (r[EBX] != DEMO_EP_CPTR) {
            kprintf("%s: no endpoint at capability %lu\n", ksCurThread->tcbName, r[EBX]);
            halt(EXIT_FAILED);
        }
        if (number == SysSend) {
            send_ipc(ksCurThread, &demo_endpoint);
        } else {
            receive_ipc(ksCurThread, &demo_endpoint);
        }
        break;
    case SysDebugPutChar:
        kernel_putchar((char)r[EBX]);
        break;
    case SysSleep:
        ksCurThread->tcbWakeTick = timer_ticks + r[EBX];
        set_state(ksCurThread, ThreadState_BlockedOnNotification);
        break;
    case SysDemoDone:
        demo_done(r[EBX], r[ESI]); /* ends the run */
    default:
        kprintf("%s: unknown system call %ld\n", ksCurThread->tcbName, number);
        halt(EXIT_FAILED);
    }
    schedule();
    restore_user_context();
}

/* ---- the way out ------------------------------------------------------- */

/*
 * Resume ksCurThread from its saved registers, as seL4 ia32's
 * restore_user_context does: ESP is pointed into the TCB and the registers
 * are popped from it.
 */
NORETURN void restore_user_context(void)
{
    word_t *r = registers_of(ksCurThread);
    set_vspace_root(ksCurThread->tcbVSpaceRoot);
    /* Every exit: the next interrupt from ring 3 makes the CPU push its frame
     * from here down, and sysenter loads its ESP from this field too. */
    x86KStss.esp0 = (word_t)&r[SS + 1];

    if (r[Error] == (word_t)-1) {
        /* The thread entered through sysenter: leave through sysexit, which
         * takes EIP from EDX and ESP from ECX. FLAGS is restored with IF
         * clear and IF is set by sti, whose one-instruction interrupt shadow
         * covers sysexit: an interrupt in between would arrive in ring 0 with
         * ESP inside a user TCB, which the entry code cannot handle. */
        r[FLAGS] &= ~(word_t)FLAGS_IF;
        __asm__ volatile("movl %0, %%esp\n\t"
                         "popl %%eax\n\t"     /* [EAX] */
                         "popl %%ebx\n\t"     /* [EBX] */
                         "addl $8, %%esp\n\t" /* [ECX], [EDX]: replaced below */
                         "popl %%esi\n\t"     /* [ESI] */
                         "popl %%edi\n\t"     /* [EDI] */
                         "popl %%ebp\n\t"     /* [EBP] */
                         "addl $8, %%esp\n\t" /* [FaultIP], [Error] */
                         "popl %%edx\n\t"     /* [NextIP] -> EIP after sysexit */
                         "addl $4, %%esp\n\t" /* [CS]: sysexit sets CS from the MSR */
                         "popfl\n\t"          /* [FLAGS], IF clear */
                         "movl (%%esp), %%ecx\n\t" /* [ESP] -> ESP after sysexit */
                         "sti\n\t"
                         "sysexit"
                         :
                         : "r"(&r[EAX])
                         : "memory");
    } else {
        /* Interrupted (or new) thread: pop the general registers, skip
         * FaultIP and Error, and iret through the CPU-format frame at
         * [NextIP]. To ring 3 the iret also pops ESP and SS; to the ring-0
         * idle thread it pops only EIP, CS and EFLAGS and leaves
         * ESP = &registers[ESP]. */
        __asm__ volatile("movl %0, %%esp\n\t"
                         "popl %%eax\n\t"
                         "popl %%ebx\n\t"
                         "popl %%ecx\n\t"
                         "popl %%edx\n\t"
                         "popl %%esi\n\t"
                         "popl %%edi\n\t"
                         "popl %%ebp\n\t"
                         "addl $8, %%esp\n\t"
                         "iret"
                         :
                         : "r"(&r[EAX])
                         : "memory");
    }
    __builtin_unreachable();
}
