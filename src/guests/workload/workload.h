/* Declarations shared by the workload guest's C files (freestanding: no libc headers). */
#ifndef WORKLOAD_H
#define WORKLOAD_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;

/* Values workload_main returns for entry.S to write to isa-debug-exit (QEMU exits with 33 or 35). */
#define EXIT_PASSED 0x10
#define EXIT_SELF_CHECK_FAILED 0x11

/* serial.c: polled output on COM1. */
void serial_write(const char *text);
void serial_write_hex(uint32_t value);
void serial_write_decimal(uint32_t value);

/* paging.c: identity-maps the first 16 MiB with 4 KiB pages and turns paging on. */
void paging_enable(void);

#endif
