/*
 * COM1 output, polled: each byte waits until the 16550's transmit holding register is empty (line
 * status bit 5), as a driver on real hardware must. No interrupts, no initialisation: the port's
 * reset state is enough to transmit on an emulator.
 */
#include "workload.h"

#define COM1 0x3f8
#define LINE_STATUS (COM1 + 5)
#define TRANSMIT_EMPTY 0x20

static inline uint8_t in8(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void out8(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static void serial_put(char c) {
    while ((in8(LINE_STATUS) & TRANSMIT_EMPTY) == 0) {
    }
    out8(COM1, (uint8_t)c);
}

void serial_write(const char *text) {
    for (; *text != '\0'; text++) serial_put(*text);
}

void serial_write_hex(uint32_t value) {
    static const char digits[] = "0123456789abcdef";
    for (int shift = 28; shift >= 0; shift -= 4) serial_put(digits[(value >> shift) & 0xf]);
}

void serial_write_decimal(uint32_t value) {
    char text[11];
    int at = sizeof text;
    text[--at] = '\0';
    do {
        text[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    serial_write(&text[at]);
}
