/*
 * The floating-point workload: ROUNDS identical rounds of x87 arithmetic on doubles (the guests are
 * built without SSE, so the compiler uses the x87 stack): Mandelbrot escape counts on a 64 x 48 grid
 * (multiply, add, compare in a tight loop) and 20,000 terms of the Leibniz series for pi (divide,
 * alternating add). It prints the escape-count total and the bits of the sum, which every emulator
 * must reproduce exactly, and checks that the sum is close to pi.
 */
#include "workload.h"

#ifndef ROUNDS
#error "build with -DROUNDS=<number of rounds>"
#endif

#define GRID_WIDTH 64
#define GRID_HEIGHT 48
#define MAX_ITERATIONS 64
#define SERIES_TERMS 20000

/* Escape iterations of every grid point of [-2, 1] x [-1.2, 1.2]. */
static uint32_t mandelbrot(void) {
    uint32_t total = 0;
    for (int py = 0; py < GRID_HEIGHT; py++) {
        for (int px = 0; px < GRID_WIDTH; px++) {
            double cx = -2.0 + px * (3.0 / GRID_WIDTH), cy = -1.2 + py * (2.4 / GRID_HEIGHT);
            double x = 0, y = 0;
            int i = 0;
            while (i < MAX_ITERATIONS && x * x + y * y <= 4.0) {
                double t = x * x - y * y + cx;
                y = 2 * x * y + cy;
                x = t;
                i++;
            }
            total += (uint32_t)i;
        }
    }
    return total;
}

/* 4 - 4/3 + 4/5 - ...: pi, slowly. */
static double leibniz(void) {
    double sum = 0;
    for (int k = 0; k < SERIES_TERMS; k++) sum += ((k & 1) ? -4.0 : 4.0) / (2 * k + 1);
    return sum;
}

uint32_t workload_main(void) {
    uint32_t iterations = 0;
    double pi = 0;
    /* Opaque to the optimiser, as in workload.c: a run's length is linear in ROUNDS. */
    uint32_t rounds = ROUNDS;
    __asm__ volatile("" : "+r"(rounds));
    for (uint32_t round = 0; round < rounds; round++) {
        iterations += mandelbrot();
        pi = leibniz();
    }
    union { double d; uint32_t w[2]; } bits = { pi };
    int ok = pi > 3.1415 && pi < 3.1417;
    serial_write("fpu rounds=");
    serial_write_decimal(ROUNDS);
    serial_write(" iterations=");
    serial_write_decimal(iterations);
    serial_write(" pi=");
    serial_write_hex(bits.w[1]);
    serial_write_hex(bits.w[0]);
    serial_write(ok ? " ok\n" : " FAILED\n");
    return ok ? EXIT_PASSED : EXIT_SELF_CHECK_FAILED;
}
