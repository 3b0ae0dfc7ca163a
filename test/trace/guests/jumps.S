/*
 * A multiboot guest whose writes are reached through jumps that stand in for calls and returns, for
 * the call path (src/query/call-path.ts). Each write stores to its own label:
 *
 *  target1: _start -> caller1 -> bar, which tail-calls foo (`jmp foo` after popping its own frame);
 *           foo loops with a `jmp` of its own while its return address is on top of the stack (not a
 *           call: it stays inside foo).
 *  target2: _start -> caller2 -> bar2, which tail-calls foo2 through a register (`jmp *%eax`), which
 *           tail-calls baz: baz runs in the frame caller2 opened for bar2.
 *  target3: _start -> caller3 -> deep, which jumps to a label of its own with `push $label; ret` (a
 *           return that matches no call), then calls leaf. The callers above deep are still callers.
 *  target4: _start -> caller4 -> rp, which ends with a retpoline-style `push $foo4; ret`: a tail call
 *           made with a return.
 *  target5: _start -> caller5, which first calls repush (which pops its return address and pushes it
 *           back before returning: a true return), then leaf5.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header
stack_space 4096

start_on_stack
  call caller1
  call caller2
  call caller3
  call caller4
  call caller5
  cli
  hlt

caller1:
  push %esi
  call bar
  pop %esi
  ret

bar:
  push %ebp
  mov %esp, %ebp
  pop %ebp
  jmp foo

foo:
  mov $3, %ecx
1:
  dec %ecx
  jz 2f
  jmp 1b
2:
  movl $1, target1
  ret

caller2:
  call bar2
  ret

bar2:
  mov $foo2, %eax
  jmp *%eax

foo2:
  nop
  jmp baz

baz:
  movl $2, target2
  ret

caller3:
  call deep
  ret

deep:
  push %ebx
  push $1f
  ret
  ud2
1:
  call leaf
  pop %ebx
  ret

leaf:
  movl $3, target3
  ret

caller4:
  call rp
  ret

rp:
  push $foo4
  ret

foo4:
  movl $4, target4
  ret

caller5:
  call repush
  call leaf5
  ret

repush:
  pop %ecx
  push %ecx
  ret

leaf5:
  movl $5, target5
  ret

.data
.align 4
target1: .long 0
target2: .long 0
target3: .long 0
target4: .long 0
target5: .long 0
