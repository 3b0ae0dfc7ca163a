/*
 * Runs x87 test cases and prints what they leave behind, as raw hex, for comparison with QEMU. The cases
 * come from a header the test generates (x87-cases.h): machine code snippets (see test/x87/snippets.ts;
 * they address a 128-byte data block through EBX and end with RET; kept in .text and run in place, so a
 * lockstep log, which covers the image's code, sees them) and, per case, the snippet to run and
 * its initial data block. For each case one line: the bytes PRINT_FROM..PRINT_TO of the block after the
 * run (by default 48..111: ST0, ST1, FSW, EFLAGS captures, the memory operand / destination). Block
 * bytes MASK_AT and MASK_AT + 1 are masks of FSW bits (low and high byte of the FSW at FSW_AT) left out
 * of the printed FSW: status bits QEMU 7.2 does not model.
 */
#include "c-guest.h"
#define SNIPPET_SECTION __attribute__((section(".text.x87snippets"), aligned(16)))
#include "x87-cases.h"

#ifndef PRINT_FROM
#define PRINT_FROM 48
#define PRINT_TO 112
#define FSW_AT 80
#define MASK_AT 120
#endif

static u8 block[128] __attribute__((aligned(16)));

void main(void) {
  for (u32 i = 0; i < CASE_COUNT; i++) {
    const u8 *code = SNIPPETS[CASE_SNIPPET[i]];
    for (u32 j = 0; j < 128; j++) block[j] = CASE_DATA[i][j];
    __asm__ volatile("call *%1" : : "b"(block), "r"(code) : "memory", "eax", "ecx", "edx", "esi", "edi", "cc");
    block[FSW_AT] &= (u8)~CASE_DATA[i][MASK_AT];
    block[FSW_AT + 1] &= (u8)~CASE_DATA[i][MASK_AT + 1];
    for (u32 j = PRINT_FROM; j < PRINT_TO; j++) hex2(block[j]);
    serial_putc('\n');
  }
  finish(0);
}
