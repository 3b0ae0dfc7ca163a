/*
 * The two ring-3 threads. This file is linked at USER_CODE_VADDR (the
 * linker script's .user section) and mapped read-only into both threads'
 * page directories, so it must use no global variables and call nothing in
 * the kernel: only system calls.
 *
 * System call convention (seL4 ia32's): EAX = call number, EBX = capability
 * or badge, ESI = message info, EDI = first message register; the stub puts
 * its ESP in ECX and its return address in EDX, which sysexit uses to come
 * back. ECX and EDX are therefore clobbered.
 */
#include "kernel.h"

#define ROUNDS 64

struct msg {
    word_t badge_or_cap; /* EBX */
    word_t info;         /* ESI */
    word_t mr0;          /* EDI */
};

static inline void x86_sysenter(sword_t number, struct msg *m)
{
    word_t eax = (word_t)number, ebx = m->badge_or_cap, esi = m->info, edi = m->mr0;
    __asm__ volatile("movl %%esp, %%ecx\n\t"
                     "leal 1f, %%edx\n\t"
                     "sysenter\n"
                     "1:"
                     : "+a"(eax), "+b"(ebx), "+S"(esi), "+D"(edi)
                     :
                     : "ecx", "edx", "cc", "memory");
    m->badge_or_cap = ebx;
    m->info = esi;
    m->mr0 = edi;
}

static void put_char(char c)
{
    struct msg m = { (word_t)(unsigned char)c, 0, 0 };
    x86_sysenter(SysDebugPutChar, &m);
}

static void put_string(const char *s)
{
    while (*s) {
        put_char(*s++);
    }
}

static void put_decimal(word_t v)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) {
        put_char(digits[--n]);
    }
}

static void sleep_ticks(word_t ticks)
{
    struct msg m = { ticks, 0, 0 };
    x86_sysenter(SysSleep, &m);
}

/* The message word of a round: a value the receiver can check. */
static word_t message_word(word_t round)
{
    return round * 2654435761u;
}

void receiver_main(void)
{
    word_t errors = 0;
    for (word_t round = 1; round <= ROUNDS; round++) {
        struct msg m = { DEMO_EP_CPTR, 0, 0 };
        x86_sysenter(SysRecv, &m);
        if (m.badge_or_cap != DEMO_SENDER_BADGE || m.info != round || m.mr0 != message_word(round)) {
            errors++;
            put_string("receiver: round ");
            put_decimal(round);
            put_string(": wrong message\n");
        } else if (round % 16 == 0) {
            put_string("receiver: round ");
            put_decimal(round);
            put_string(" ok\n");
        }
    }
    struct msg done = { errors, ROUNDS, 0 };
    x86_sysenter(SysDemoDone, &done);
    /* The kernel ends the run on SysDemoDone; should it ever come back,
     * stay out of the way. */
    for (;;) {
        sleep_ticks(1000);
    }
}

void sender_main(void)
{
    for (word_t round = 1;; round++) {
        /* Two ticks: the first finds every thread blocked and interrupts the
         * idle thread with nothing to wake, the second wakes the sender. */
        sleep_ticks(2);
        struct msg m = { DEMO_EP_CPTR, round, message_word(round) };
        x86_sysenter(SysSend, &m);
    }
}
