/*
 * What the host oracles (packed-oracle.c, sse-oracle.c, unmasked-oracle.c) share: the xorshift
 * generator their operands come from, and their command line, `<n> <seed>`: n cases per instruction
 * (and mode), the generator's seed. host-oracle.test.ts builds and runs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

typedef uint32_t u32;
typedef uint64_t u64;

static u64 rng;
static u64 next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Seeds the generator from argv[2] (else `default_seed`); returns n, argv[1] (else 100). */
static int oracle_args(int argc, char **argv, u64 default_seed) {
  rng = argc > 2 ? strtoull(argv[2], 0, 0) : default_seed;
  return argc > 1 ? atoi(argv[1]) : 100;
}
