/*
 * A deterministic compute workload for measuring and testing ttd: ROUNDS identical rounds, each of
 * which fills an array from a xorshift generator, Shell-sorts it, sieves the primes below 65536,
 * runs the Takeuchi function (deep, branching recursion: calls, pushes and returns) and folds the
 * sorted array into a CRC-32. The sort, the sieve and the CRC are long call-free loops (the stack
 * pointer stands still for hundreds of thousands of instructions); the recursion is the opposite.
 *
 * Every round starts from the same seed, so each costs exactly the same number of instructions and
 * a run's length is a linear function of ROUNDS. The round number is folded into the sum, so the
 * printed line still differs between builds. The guest checks its own results (the array is sorted,
 * the sieve found pi(65536) primes) and says "ok" or "FAILED" at the end of its one line.
 */
#include "workload.h"

#ifndef ROUNDS
#error "build with -DROUNDS=<number of rounds>"
#endif

#define KEY_COUNT 4400
#define SIEVE_SIZE 65536
#define PRIMES_BELOW_SIEVE_SIZE 6542u /* pi(65536) */
#define SEED 0x2545f491u
/* Takeuchi arguments: 21,237 calls a round. */
#define TAK_X 14
#define TAK_Y 10
#define TAK_Z 4

static uint32_t keys[KEY_COUNT];
static uint8_t composite[SIEVE_SIZE];

/* Marsaglia's xorshift32: never zero for a non-zero seed. */
static uint32_t xorshift32(uint32_t *state) {
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void fill_keys(uint32_t seed) {
    uint32_t state = seed;
    for (int i = 0; i < KEY_COUNT; i++) keys[i] = xorshift32(&state);
}

/* Shell sort with Ciura's gap sequence; the last pass (gap 1) is an insertion sort. */
static void shell_sort(uint32_t *v, int n) {
    static const uint16_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            uint32_t moving = v[i];
            int j = i;
            while (j >= gap && v[j - gap] > moving) {
                v[j] = v[j - gap];
                j -= gap;
            }
            v[j] = moving;
        }
    }
}

static int is_sorted(const uint32_t *v, int n) {
    for (int i = 1; i < n; i++)
        if (v[i - 1] > v[i]) return 0;
    return 1;
}

/* Sieve of Eratosthenes: marks composite[n] for every composite n below SIEVE_SIZE. */
static uint32_t count_primes(void) {
    for (uint32_t n = 0; n < SIEVE_SIZE; n++) composite[n] = 0;
    composite[0] = composite[1] = 1;
    for (uint32_t p = 2; p * p < SIEVE_SIZE; p++) {
        if (composite[p]) continue;
        for (uint32_t m = p * p; m < SIEVE_SIZE; m += p) composite[m] = 1;
    }
    uint32_t primes = 0;
    for (uint32_t n = 0; n < SIEVE_SIZE; n++) primes += composite[n] == 0;
    return primes;
}

/* Takeuchi's function: noinline so that every level is a real call with its frame. */
static __attribute__((noinline)) int takeuchi(int x, int y, int z) {
    if (y >= x) return z;
    return takeuchi(takeuchi(x - 1, y, z), takeuchi(y - 1, z, x), takeuchi(z - 1, x, y));
}

/* CRC-32 (IEEE, reflected), one bit at a time. */
static uint32_t crc32(const uint8_t *bytes, uint32_t length) {
    uint32_t crc = 0xffffffffu;
    for (uint32_t i = 0; i < length; i++) {
        crc ^= bytes[i];
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static uint32_t rotate_left(uint32_t x, int n) {
    return (x << n) | (x >> (32 - n));
}

uint32_t workload_main(void) {
    uint32_t sum = 0, failures = 0;
#ifdef PAGING
    paging_enable();
#endif
    /* Opaque to the optimiser, so every ROUNDS builds the same loop (no unrolling of small counts):
     * a run's length is then exactly linear in ROUNDS. */
    uint32_t rounds = ROUNDS;
    __asm__ volatile("" : "+r"(rounds));
    for (uint32_t round = 0; round < rounds; round++) {
        fill_keys(SEED);
        shell_sort(keys, KEY_COUNT);
        failures += !is_sorted(keys, KEY_COUNT);
        uint32_t primes = count_primes();
        failures += primes != PRIMES_BELOW_SIEVE_SIZE;
        /* Hidden from the optimiser, which would otherwise run the pure recursion once for all rounds. */
        int x = TAK_X;
        __asm__ volatile("" : "+r"(x));
        uint32_t recursion = (uint32_t)takeuchi(x, TAK_Y, TAK_Z);
        uint32_t digest = crc32((const uint8_t *)keys, sizeof keys);
        sum = rotate_left(sum, 5) ^ digest ^ (primes << 16) ^ recursion ^ round;
    }
    serial_write("workload rounds=");
    serial_write_decimal(ROUNDS);
#ifdef PAGING
    serial_write(" paging");
#endif
    serial_write(" sum=");
    serial_write_hex(sum);
    serial_write(failures == 0 ? " ok\n" : " FAILED\n");
    return failures == 0 ? EXIT_PASSED : EXIT_SELF_CHECK_FAILED;
}
