/*
 * Native x87 oracle: runs x87 code snippets on the host's FPU. Input (stdin), repeated: a little-endian
 * u32 code length, the code (32-bit-compatible encodings, ending with RET) and a 128-byte data block
 * that the code addresses through EBX/RBX. Output (stdout): the data block after the snippet ran.
 * Built and driven by hardware-oracle.test.ts; snippets leave every exception handled (FNSTSW/FNCLEX
 * follow anything that can raise one), so no #MF ever reaches the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
  uint8_t *code = mmap(0, 65536, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  static uint8_t data[128] __attribute__((aligned(16)));
  if (code == MAP_FAILED) return 2;
  for (;;) {
    uint32_t len;
    if (fread(&len, 4, 1, stdin) != 1) break;
    if (len > 65536 || fread(code, 1, len, stdin) != len || fread(data, 1, 128, stdin) != 128) return 3;
    __asm__ volatile("push %%rbx\n\tmov %%rdi, %%rbx\n\tcall *%%rsi\n\tpop %%rbx\n\tfninit"
                     : : "D"(data), "S"(code) : "memory", "rax", "rcx", "rdx", "cc");
    fwrite(data, 1, 128, stdout);
  }
  return 0;
}
