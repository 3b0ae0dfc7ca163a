/*
 * COM1 output and a small printf for the kernel's messages.
 * Only what the kernel prints is supported: %s %c %d %ld %u %lu %x %lx %%,
 * without widths or padding (seL4's exception report uses plain %lx).
 */
#include "kernel.h"

#define COM1 0x3f8
#define UART_THR 0 /* transmit holding register (DLAB = 0) */
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor latch high (DLAB = 1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20 /* room in the transmitter */

void serial_init(void)
{
    out8(COM1 + UART_IER, 0x00); /* no UART interrupts: output is polled */
    out8(COM1 + UART_LCR, 0x80); /* DLAB on to set the divisor */
    out8(COM1 + UART_DLL, 0x01); /* 115200 baud */
    out8(COM1 + UART_DLM, 0x00);
    out8(COM1 + UART_LCR, 0x03); /* 8 data bits, no parity, 1 stop bit */
    out8(COM1 + UART_FCR, 0x07); /* FIFOs on and cleared */
    out8(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

void kernel_putchar(char c)
{
    while ((in8(COM1 + UART_LSR) & UART_LSR_THRE) == 0) {
    }
    out8(COM1 + UART_THR, (uint8_t)c);
}

static void put_string(const char *s)
{
    while (*s) {
        kernel_putchar(*s++);
    }
}

static void put_unsigned(word_t v, unsigned base)
{
    char digits[12];
    int n = 0;
    do {
        word_t d = v % base;
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0);
    while (n > 0) {
        kernel_putchar(digits[--n]);
    }
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            kernel_putchar(*p);
            continue;
        }
        p++;
        if (*p == 'l') {
            p++; /* long and int are both 32 bits here */
        }
        switch (*p) {
        case 's':
            put_string(va_arg(ap, const char *));
            break;
        case 'c':
            kernel_putchar((char)va_arg(ap, int));
            break;
        case 'd': {
            sword_t v = va_arg(ap, sword_t);
            if (v < 0) {
                kernel_putchar('-');
                put_unsigned(-(word_t)v, 10);
            } else {
                put_unsigned((word_t)v, 10);
            }
            break;
        }
        case 'u':
            put_unsigned(va_arg(ap, word_t), 10);
            break;
        case 'x':
            put_unsigned(va_arg(ap, word_t), 16);
            break;
        case '%':
            kernel_putchar('%');
            break;
        default:
            /* Unknown conversion: show it rather than guess an argument. */
            kernel_putchar('%');
            if (*p == '\0') {
                va_end(ap);
                return;
            }
            kernel_putchar(*p);
            break;
        }
    }
    va_end(ap);
}
