/* Multiboot entry for the C test guests: a stack, then main(magic, multiboot info). */
#include "../../guests/multiboot-guest.h"

multiboot_header
stack_space 16384

start_on_stack
  push %ebx
  push %eax
  call main
1:
  cli
  hlt
  jmp 1b
