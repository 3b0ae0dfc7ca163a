/*
 * Types and declarations of the demo kernel.
 *
 * The thread control block follows seL4 ia32 (release 12.1.0) word for word
 * where the idle-thread bug depends on it: the 512-byte FPU area, then the
 * 17 saved registers in seL4's order, then tcbState. Everything after
 * tcbState is our own and simpler than seL4's.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include "config.h"

/* No system headers: they would bring absolute include paths into the DWARF
 * and make the images depend on where the compiler is installed. */
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef unsigned long word_t;
typedef long sword_t;
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)

#define NORETURN __attribute__((noreturn))
#define PACKED __attribute__((packed))
#define ALIGN(n) __attribute__((aligned(n)))
#define SECTION(s) __attribute__((section(s)))
#define STATIC_ASSERT(name, cond) typedef char static_assert_##name[(cond) ? 1 : -1]

/* Saved user context, seL4 ia32 order. Index 0 has no name: the entry stubs
 * push a zero there so the frame is 17 words. */
enum _register {
    EAX = 1,
    EBX = 2,
    ECX = 3,
    EDX = 4,
    ESI = 5,
    EDI = 6,
    EBP = 7,
    FaultIP = 8, /* copy of NextIP made at entry; seL4 restarts faults from it */
    Error = 9,   /* CPU error code, 0, or -1 for a system call (sysexit path) */
    NextIP = 10, /* from here on: the frame the CPU itself pushes */
    CS = 11,
    FLAGS = 12,
    ESP = 13,
    SS = 14,
    FS_BASE = 15,
    GS_BASE = 16,
    n_contextRegisters = 17
};

/* seL4's _thread_state values; tsType is 4 bits of tcbState's first word. */
enum _thread_state {
    ThreadState_Inactive = 0,
    ThreadState_Running = 1,
    ThreadState_Restart = 2,
    ThreadState_BlockedOnReceive = 3,
    ThreadState_BlockedOnSend = 4,
    ThreadState_BlockedOnReply = 5,
    ThreadState_BlockedOnNotification = 6,
    ThreadState_IdleThreadState = 7
};

typedef struct thread_state {
    word_t words[3];
} thread_state_t;

static inline word_t thread_state_get_tsType(const thread_state_t *ts) { return ts->words[0] & 0xf; }
static inline void thread_state_set_tsType(thread_state_t *ts, word_t type)
{
    ts->words[0] = (ts->words[0] & ~0xful) | (type & 0xf);
}

typedef struct user_context {
    word_t fpuState[128]; /* FXSAVE area; unused here (CR0.TS stays set) */
    word_t registers[n_contextRegisters];
} user_context_t;

typedef struct arch_tcb {
    user_context_t tcbContext;
} arch_tcb_t;

typedef struct endpoint endpoint_t;
typedef struct tcb tcb_t;

struct tcb {
    arch_tcb_t tcbArch; /* first member, so registers[0] is tcb_t + 0x200 */
    thread_state_t tcbState;
    /* --- our own fields from here --- */
    endpoint_t *tcbBlockingObject; /* endpoint a blocked thread waits on */
    word_t tcbWakeTick;            /* timer tick a sleeping thread waits for */
    word_t tcbVSpaceRoot;          /* physical address of its page directory */
    tcb_t *tcbEPNext;              /* endpoint queue link */
    word_t tcbBadge;               /* badge a receiver sees for this sender */
    const char *tcbName;
};

STATIC_ASSERT(tcb_fits_object, TCB_OFFSET + sizeof(tcb_t) <= TCB_OBJECT_SIZE);
STATIC_ASSERT(registers_at_0x200, __builtin_offsetof(tcb_t, tcbArch.tcbContext.registers) == 0x200);

enum endpoint_state { EPState_Idle = 0, EPState_Send = 1, EPState_Recv = 2 };

struct endpoint {
    word_t state;
    tcb_t *head;
    tcb_t *tail;
};

/* System call numbers: seL4 12's, plus two of our own (negative, outside
 * seL4's range) that give the demo its idle periods and its ending. */
enum syscall {
    SysSend = -3,
    SysRecv = -5,
    SysYield = -7,
    SysDebugPutChar = -9,
    SysSleep = -64,    /* block until N more timer ticks; stands in for a user timer driver */
    SysDemoDone = -65, /* the receiver reports its result; the kernel prints the summary */
};

/* The demo's one endpoint capability, and the badge the receiver sees on
 * the sender's messages. */
#define DEMO_EP_CPTR 1
#define DEMO_SENDER_BADGE 0x42

/* Why the kernel was last entered, printed by halt() like seL4's debug build. */
enum entry_path { Entry_None = 0, Entry_Interrupt, Entry_Syscall, Entry_UserLevelFault };

typedef struct kernel_entry {
    word_t path;
    word_t word; /* vector or system call number */
} kernel_entry_t;

/* The TSS as the CPU sees it (32-bit, 104 bytes). */
typedef struct tss {
    uint32_t prev_task, esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, io_map_base;
} PACKED tss_t;

STATIC_ASSERT(tss_size, sizeof(tss_t) == 104);

/* Globals with seL4's names. */
extern char ksIdleThreadTCB[TCB_OBJECT_SIZE];
extern tcb_t *ksIdleThread;
extern tcb_t *ksCurThread;
extern kernel_entry_t ksKernelEntry;
extern tss_t x86KStss;
extern word_t ia32KSGlobalPD[1024];
extern char __idle_thread_start[], __idle_thread_end[];

/* serial.c */
void serial_init(void);
void kernel_putchar(char c);
void kprintf(const char *fmt, ...);

/* machine.c */
static inline void out8(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t in8(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void out32(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline word_t kpptr_to_paddr(const void *p) { return (word_t)p - KERNEL_OFFSET; }
void init_cpu(void);
void init_vspaces(void);
void set_vspace_root(word_t pd_paddr);
word_t create_user_vspace(int index);
void apic_start_timer(void);
void apic_ack(void);
NORETURN void machine_exit(word_t exit_value);

/* idle.c */
void idle_thread(void);

/* thread.c */
void init_threads(void);
NORETURN void restore_user_context(void);
NORETURN void c_handle_interrupt(word_t vector);
NORETURN void c_handle_syscall(sword_t number);

/* fault.c */
NORETURN void handleKernelException(word_t vector, word_t *frame);
NORETURN void halt(word_t exit_value);

/* user.c: entry points of the two ring-3 threads (user virtual addresses). */
void receiver_main(void);
void sender_main(void);

/* User address space layout (each thread's own page directory). */
#define USER_CODE_VADDR 0x00400000ul
#define USER_STACK_VADDR 0x00500000ul
#define USER_STACK_TOP (USER_STACK_VADDR + 4096)

#endif
