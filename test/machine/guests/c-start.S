/* Multiboot entry for the C test guests: a stack, then main(). */
#include "../../guests/multiboot-guest.h"

multiboot_header
stack_space 16384

start_on_stack
  call main
1:
  cli
  hlt
  jmp 1b
