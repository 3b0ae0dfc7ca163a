/*
 * The idle thread: the one function the two images differ in.
 *
 * It runs in ring 0 and has no stack of its own. restore_user_context() irets
 * to it with ESP = &ksIdleThread->tcbArch.tcbContext.registers[ESP], so the
 * next interrupt pushes its frame into the idle TCB's register slots exactly
 * where a ring-3 entry would put it (see traps.S). Any push by the idle
 * thread itself shifts that frame down by one word.
 */
#include "kernel.h"

#ifndef FIXED

/*
 * seL4 12.1.0's idle thread, written the same way. Debian clang 14.0.6 at
 * -O2 -g -fno-omit-frame-pointer compiles it to (llvm-objdump -d
 * build/idle-bug.elf):
 *     55        push %ebp          <- writes registers[FLAGS], ESP -> &registers[FLAGS]
 *     89 e5     mov  %esp,%ebp
 *     90 ...    nop padding (loop alignment)
 *     f4        hlt
 *     eb fd     jmp  <hlt>
 * The prologue is the bug: the next timer interrupt lands one slot low,
 * putting the idle EIP into registers[Error], and the following
 * restore_user_context irets with CS = 0x202 (#GP, error code 0x200).
 * test/kernel checks these bytes in the committed image.
 */
void idle_thread(void)
{
    while (1) {
        __asm__ volatile("hlt");
    }
}

#else

/*
 * The fix of seL4 13.0.0 (PR #510): a naked function, so the compiler emits
 * nothing but the loop, f4 eb fd (14.0.0 later moved it to assembly).
 */
__attribute__((naked)) void idle_thread(void)
{
    __asm__ volatile("1: hlt\n\t"
                     "jmp 1b");
}

#endif
