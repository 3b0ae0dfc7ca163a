/*
 * A multiboot guest with a user mode and a kernel, entered by both i386 system call instructions, for
 * the call path (src/query/call-path.ts). The kernel runs in ring 0 on its own stack (the TSS's ESP0
 * for `int`, IA32_SYSENTER_ESP for `sysenter`); user code runs in ring 3. Each write stores to its own
 * label:
 *
 *  target1: user_main -> u_int -> `int $0x80` -> int80_entry -> sys_dispatch -> sys_one (kernel).
 *  target2: user_main -> u_sysenter -> `sysenter` -> sysenter_entry -> sys_two (kernel), which goes
 *           back with `sysexit`.
 *  target3: user_main -> u_after (user code, after both system calls returned: no kernel frame is
 *           open any more).
 *  target4: user_main -> u_wrap, after u_wrap's call of u_sysenter_iret returned: that system call
 *           went back to user mode with an iret (as Linux's does when it must restore all registers),
 *           which ends the sysenter's frame but not u_wrap's.
 * A last `int $0x80` with EAX = 0 halts.
 */
#include "../../guests/multiboot-guest.h"

multiboot_header

.set KERNEL_CS, 0x08
.set KERNEL_DS, 0x10
.set USER_CS, 0x1b
.set USER_DS, 0x23
.set TSS_SEL, 0x28

.text
.globl _start
_start:
  lgdt gdtr
  ljmp $KERNEL_CS, $1f
1:
  mov $KERNEL_DS, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov $kstack_top, %esp
  /* The TSS descriptor's base, then the TSS (ring 0 stack for interrupts from ring 3). */
  mov $tss, %eax
  mov %ax, gdt + TSS_SEL + 2
  shr $16, %eax
  mov %al, gdt + TSS_SEL + 4
  mov %ah, gdt + TSS_SEL + 7
  movl $kstack_top, tss + 4
  movl $KERNEL_DS, tss + 8
  mov $TSS_SEL, %ax
  ltr %ax
  /* Gate 0x80: a 32-bit interrupt gate callable from ring 3 (DPL 3). */
  mov $int80_entry, %eax
  mov %ax, idt + 0x80 * 8
  movw $KERNEL_CS, idt + 0x80 * 8 + 2
  movw $0xee00, idt + 0x80 * 8 + 4
  shr $16, %eax
  mov %ax, idt + 0x80 * 8 + 6
  lidt idtr
  /* SYSENTER's CS (user CS/SS are +16/+24 from it), ESP and EIP. */
  xor %edx, %edx
  mov $0x174, %ecx
  mov $KERNEL_CS, %eax
  wrmsr
  mov $0x175, %ecx
  mov $sysenter_stack_top, %eax
  wrmsr
  mov $0x176, %ecx
  mov $sysenter_entry, %eax
  wrmsr
  /* Into ring 3 at user_main, on the user stack. */
  push $USER_DS
  push $ustack_top
  pushf
  push $USER_CS
  push $user_main
  mov $USER_DS, %ax
  mov %ax, %ds
  mov %ax, %es
  iret

/* ---- ring 0 ---- */

int80_entry:
  push %eax
  test %eax, %eax
  jz 1f
  call sys_dispatch
  pop %eax
  iret
1:
  cli
  hlt

sys_dispatch:
  call sys_one
  ret

sys_one:
  movl $1, target1
  ret

/* EDX and ECX hold the user EIP and ESP to go back to; EAX = 2 goes back with an iret instead. */
sysenter_entry:
  cmp $2, %eax
  je 1f
  call sys_two
  sysexit
1:
  push $USER_DS
  push %ecx
  pushf
  push $USER_CS
  push %edx
  iret

sys_two:
  movl $2, target2
  ret

/* ---- ring 3 ---- */

user_main:
  call u_int
  call u_sysenter
  call u_after
  call u_wrap
  xor %eax, %eax
  int $0x80

u_int:
  mov $1, %eax
  int $0x80
  ret

u_sysenter:
  mov $1f, %edx
  mov %esp, %ecx
  sysenter
1:
  ret

u_after:
  movl $3, target3
  ret

u_wrap:
  call u_sysenter_iret
  movl $4, target4
  ret

u_sysenter_iret:
  mov $2, %eax
  mov $1f, %edx
  mov %esp, %ecx
  sysenter
1:
  ret

.data
.align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff  /* 0x08 ring 0 code */
  .quad 0x00cf92000000ffff  /* 0x10 ring 0 data */
  .quad 0x00cffa000000ffff  /* 0x18 ring 3 code */
  .quad 0x00cff2000000ffff  /* 0x20 ring 3 data */
  .quad 0x0000890000000067  /* 0x28 TSS (base filled in) */
gdt_end:
gdtr:
  .word gdt_end - gdt - 1
  .long gdt
idtr_of_idt
target1: .long 0
target2: .long 0
target3: .long 0
target4: .long 0

.bss
.align 8
idt: .space 256 * 8
tss: .space 104
.align 16
kstack: .space 1024
kstack_top:
sysenter_stack: .space 1024
sysenter_stack_top:
ustack: .space 1024
ustack_top:
