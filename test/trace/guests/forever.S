/*
 * A multiboot guest that never ends: a loop calling a function that bumps a counter, so every
 * iteration writes the stack and memory. The tests that interrupt a recording (Ctrl-C, kill -9)
 * record it: however fast recording gets, the run is still going when the signal comes.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header

start_on_stack
1:
  call bump
  jmp 1b

bump:
  incl counter
  mov counter, %eax
  and $0x3ff, %eax
  mov %eax, table(,%eax,4)
  ret

.bss
.align 4
counter: .space 4
table: .space 4096
stack_space 4096
