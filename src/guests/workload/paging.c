/*
 * The PAGING variant: every linear address below 16 MiB maps to the same physical address through
 * 4 KiB pages (four page tables), so every load, store and fetch of the workload goes through the
 * MMU and its TLB. The image, its stack and these tables all lie below 16 MiB.
 */
#include "workload.h"

#define PAGE_PRESENT 0x001
#define PAGE_WRITABLE 0x002
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u
#define MAPPED_TABLES 4 /* 4 x 4 MiB */

static uint32_t page_directory[1024] __attribute__((aligned(4096)));
static uint32_t page_tables[MAPPED_TABLES][1024] __attribute__((aligned(4096)));

void paging_enable(void) {
    for (uint32_t t = 0; t < MAPPED_TABLES; t++) {
        for (uint32_t i = 0; i < 1024; i++) {
            uint32_t frame = (t * 1024 + i) << 12;
            page_tables[t][i] = frame | PAGE_WRITABLE | PAGE_PRESENT;
        }
        page_directory[t] = (uint32_t)page_tables[t] | PAGE_WRITABLE | PAGE_PRESENT;
    }
    uint32_t cr0;
    __asm__ volatile("mov %0, %%cr3" : : "r"(page_directory) : "memory");
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_PG | CR0_WP) : "memory");
}
