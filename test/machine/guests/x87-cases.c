/*
 * Runs x87 test cases and prints what they leave behind, as raw hex, for comparison with QEMU. The cases
 * come from a header the test generates (x87-cases.h): machine code snippets (see test/x87/snippets.ts;
 * they address a 128-byte data block through EBX and end with RET) and, per case, the snippet to run and
 * its initial data block. For each case one line: the bytes 48..111 of the block after the run (ST0, ST1,
 * FSW, EFLAGS captures, the memory operand / destination). Block bytes 120 and 121 are masks of FSW
 * bits (low and high byte) left out of the printed FSW: status bits QEMU 7.2 does not model.
 */
#include "c-guest.h"
#include "x87-cases.h"

static u8 code[4096] __attribute__((aligned(16)));
static u8 block[128] __attribute__((aligned(16)));

void main(void) {
  for (u32 i = 0; i < CASE_COUNT; i++) {
    const u8 *src = SNIPPETS[CASE_SNIPPET[i]];
    u32 len = SNIPPET_LENGTH[CASE_SNIPPET[i]];
    for (u32 j = 0; j < len; j++) code[j] = src[j];
    for (u32 j = 0; j < 128; j++) block[j] = CASE_DATA[i][j];
    __asm__ volatile("call *%1" : : "b"(block), "r"(code) : "memory", "eax", "ecx", "edx", "esi", "edi", "cc");
    block[80] &= (u8)~CASE_DATA[i][120];
    block[81] &= (u8)~CASE_DATA[i][121];
    for (u32 j = 48; j < 112; j++) hex2(block[j]);
    serial_putc('\n');
  }
  finish(0);
}
