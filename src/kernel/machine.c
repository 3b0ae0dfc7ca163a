/*
 * CPU tables and devices: GDT, TSS, IDT, SYSENTER MSRs, the 8259 PIC (masked),
 * the local APIC timer, and the page directories.
 */
#include "kernel.h"

/* ---- descriptor tables ------------------------------------------------- */

static uint64_t x86KSgdt[GDT_ENTRIES] ALIGN(8);
static uint64_t x86KSidt[256] ALIGN(8);
tss_t x86KStss ALIGN(128);

struct table_pointer {
    uint16_t limit;
    uint32_t base;
} PACKED;

#define SEG_CODE_0 0x9a /* present, ring 0, code, readable */
#define SEG_DATA_0 0x92 /* present, ring 0, data, writable */
#define SEG_CODE_3 0xfa
#define SEG_DATA_3 0xf2
#define SEG_TSS 0x89      /* present, ring 0, available 32-bit TSS */
#define SEG_FLAT_FLAGS 0xc /* 4 KiB granularity, 32-bit */
#define GATE_INT32 0x8e   /* present, DPL 0, 32-bit interrupt gate (IF cleared on entry) */

static uint64_t segment_descriptor(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
    uint32_t low = (limit & 0xffff) | (base << 16);
    uint32_t high = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000);
    return ((uint64_t)high << 32) | low;
}

static uint64_t interrupt_gate(void (*handler)(void))
{
    uint32_t offset = (uint32_t)handler;
    uint32_t low = (offset & 0xffff) | ((uint32_t)SEL_CS_0 << 16);
    uint32_t high = (offset & 0xffff0000) | ((uint32_t)GATE_INT32 << 8);
    return ((uint64_t)high << 32) | low;
}

extern void (*const x86_exception_stubs[32])(void);
extern void int_157(void);
extern void int_255(void);
extern void handle_syscall(void);

static void wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

#define IA32_APIC_BASE_MSR 0x1b
#define IA32_SYSENTER_CS_MSR 0x174
#define IA32_SYSENTER_ESP_MSR 0x175
#define IA32_SYSENTER_EIP_MSR 0x176

static void init_gdt_tss(void)
{
    /* seL4's 8 entries: null, CS0, DS0, CS3, DS3, TSS, FS (TLS), GS (IPC buffer). */
    x86KSgdt[SEL_CS_0 >> 3] = segment_descriptor(0, 0xfffff, SEG_CODE_0, SEG_FLAT_FLAGS);
    x86KSgdt[SEL_DS_0 >> 3] = segment_descriptor(0, 0xfffff, SEG_DATA_0, SEG_FLAT_FLAGS);
    x86KSgdt[SEL_CS_3 >> 3] = segment_descriptor(0, 0xfffff, SEG_CODE_3, SEG_FLAT_FLAGS);
    x86KSgdt[SEL_DS_3 >> 3] = segment_descriptor(0, 0xfffff, SEG_DATA_3, SEG_FLAT_FLAGS);
    x86KSgdt[SEL_TSS >> 3] = segment_descriptor((uint32_t)&x86KStss, sizeof(tss_t) - 1, SEG_TSS, 0);
    x86KSgdt[SEL_FS >> 3] = segment_descriptor(0, 0xfffff, SEG_DATA_3, SEG_FLAT_FLAGS);
    x86KSgdt[SEL_GS >> 3] = segment_descriptor(0, 0xfffff, SEG_DATA_3, SEG_FLAT_FLAGS);

    x86KStss.ss0 = SEL_DS_0;
    /* An I/O map base past the TSS limit: no I/O bitmap, so ring 3 may not
     * touch any port (IOPL is 0). */
    x86KStss.io_map_base = sizeof(tss_t);

    struct table_pointer gdtr = { sizeof(x86KSgdt) - 1, (uint32_t)x86KSgdt };
    /* DS and ES hold the ring-3 data selector in the kernel too, as in seL4
     * ia32: it is flat, usable from ring 0, and survives every privilege
     * change, so no entry or exit path has to reload a data segment. */
    __asm__ volatile("lgdt %0\n\t"
                     "ljmp %1, $1f\n"
                     "1:\n\t"
                     "movw %w2, %%ss\n\t"
                     "movw %w3, %%ds\n\t"
                     "movw %w3, %%es\n\t"
                     "movw %w4, %%fs\n\t"
                     "movw %w5, %%gs\n\t"
                     "ltr %w6"
                     :
                     : "m"(gdtr), "i"(SEL_CS_0), "r"(SEL_DS_0), "r"(SEL_DS_3), "r"(SEL_FS), "r"(SEL_GS),
                       "r"(SEL_TSS)
                     : "memory");
}

static void init_idt(void)
{
    for (int v = 0; v < 32; v++) {
        x86KSidt[v] = interrupt_gate(x86_exception_stubs[v]);
    }
    x86KSidt[VECTOR_TIMER] = interrupt_gate(int_157);
    x86KSidt[VECTOR_SPURIOUS] = interrupt_gate(int_255);
    /* Other vectors stay not present: raising one gives #NP (vector 11). */
    struct table_pointer idtr = { sizeof(x86KSidt) - 1, (uint32_t)x86KSidt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

static void init_sysenter(void)
{
    wrmsr(IA32_SYSENTER_CS_MSR, SEL_CS_0);
    /* Points at the esp0 field, not at a stack: see handle_syscall. */
    wrmsr(IA32_SYSENTER_ESP_MSR, (word_t)&x86KStss.esp0);
    wrmsr(IA32_SYSENTER_EIP_MSR, (word_t)handle_syscall);
}

/* ---- 8259 PIC: remapped away from the exception vectors, then masked ---- */

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

static void pic_remap_and_mask(void)
{
    /* Remap first (as seL4 does) so that a stray 8259 interrupt could never
     * pose as a CPU exception, then mask every line: the local APIC timer is
     * the only interrupt source. */
    out8(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    out8(PIC2_CMD, 0x11);
    out8(PIC1_DATA, 0x20); /* ICW2: vectors 0x20..0x27 */
    out8(PIC2_DATA, 0x28); /* ICW2: vectors 0x28..0x2f */
    out8(PIC1_DATA, 0x04); /* ICW3: slave on IRQ2 */
    out8(PIC2_DATA, 0x02); /* ICW3: slave identity 2 */
    out8(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
    out8(PIC2_DATA, 0x01);
    out8(PIC1_DATA, 0xff); /* OCW1: mask all */
    out8(PIC2_DATA, 0xff);
}

/* ---- local APIC -------------------------------------------------------- */

#define APIC_BASE 0xfee00000ul
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_DIVIDE 0x3e0

#define APIC_SVR_ENABLE 0x100
#define APIC_LVT_MASKED 0x10000
#define APIC_LVT_TIMER_PERIODIC 0x20000
#define APIC_DIVIDE_BY_16 0x3

/* QEMU clocks the APIC timer at 1 GHz; divided by 16 and counting 62500
 * that is one tick per millisecond. Nothing depends on the exact period, only
 * on ticks being rare next to the work the threads do between them. */
#define APIC_TIMER_COUNT 62500

static void apic_write(word_t reg, uint32_t value)
{
    *(volatile uint32_t *)(APIC_BASE + reg) = value;
}

static void apic_init(void)
{
    uint64_t base = rdmsr(IA32_APIC_BASE_MSR);
    /* Keep the APIC at its reset address (mapped by the boot stub); set the
     * global enable bit in case firmware cleared it. */
    wrmsr(IA32_APIC_BASE_MSR, (base & 0xfff) | APIC_BASE | 0x800);
    apic_write(APIC_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
    apic_write(APIC_TPR, 0);
    apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
    apic_write(APIC_LVT_LINT1, APIC_LVT_MASKED);
    apic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
    apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VECTOR_TIMER);
}

void apic_start_timer(void)
{
    apic_write(APIC_TIMER_DIVIDE, APIC_DIVIDE_BY_16);
    apic_write(APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | VECTOR_TIMER);
    apic_write(APIC_TIMER_INITIAL, APIC_TIMER_COUNT);
}

void apic_ack(void)
{
    apic_write(APIC_EOI, 0);
}

void init_cpu(void)
{
    init_gdt_tss();
    init_idt();
    init_sysenter();
    pic_remap_and_mask();
    apic_init();
}

/* ---- address spaces ---------------------------------------------------- */

#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_US 0x004

/* The kernel's page directory: built by boot.S, used by the idle thread. */
word_t ia32KSGlobalPD[1024] ALIGN(4096);

/* One page directory, page table and stack page per user thread. */
#define USER_THREADS 2
static word_t user_pd[USER_THREADS][1024] ALIGN(4096);
static word_t user_pt[USER_THREADS][1024] ALIGN(4096);
static char user_stack[USER_THREADS][4096] ALIGN(4096);

/* From the linker script: the user program's link (virtual) range and the
 * physical address it is loaded at. */
extern char __user_start[], __user_end[], __user_phys[];

static word_t read_cr3(void)
{
    word_t v;
    __asm__ volatile("movl %%cr3, %0" : "=r"(v));
    return v;
}

void set_vspace_root(word_t pd_paddr)
{
    /* Kernel mappings are global, so only a real change of address space
     * needs the TLB flush that a CR3 write brings. */
    if (read_cr3() != pd_paddr) {
        __asm__ volatile("movl %0, %%cr3" : : "r"(pd_paddr) : "memory");
    }
}

void init_vspaces(void)
{
    /* The boot identity map is no longer needed once running high. */
    ia32KSGlobalPD[0] = 0;
    __asm__ volatile("movl %0, %%cr3" : : "r"(kpptr_to_paddr(ia32KSGlobalPD)) : "memory");
}

word_t create_user_vspace(int index)
{
    word_t *pd = user_pd[index];
    word_t *pt = user_pt[index];
    /* The kernel window and the APIC, supervisor-only, in every address space
     * as in seL4: entering the kernel then needs no CR3 switch. */
    for (int i = 0; i < 1024; i++) {
        pd[i] = ia32KSGlobalPD[i];
    }
    pd[USER_CODE_VADDR >> 22] = kpptr_to_paddr(pt) | PTE_US | PTE_RW | PTE_P;
    /* The program's pages, shared by both threads and read-only to them. */
    word_t code_pages = ((word_t)__user_end - (word_t)__user_start + 4095) / 4096;
    for (word_t i = 0; i < code_pages; i++) {
        pt[((USER_CODE_VADDR >> 12) & 0x3ff) + i] = ((word_t)__user_phys + i * 4096) | PTE_US | PTE_P;
    }
    pt[(USER_STACK_VADDR >> 12) & 0x3ff] = kpptr_to_paddr(user_stack[index]) | PTE_US | PTE_RW | PTE_P;
    return kpptr_to_paddr(pd);
}

/* ---- stopping the machine ---------------------------------------------- */

NORETURN void machine_exit(word_t exit_value)
{
    /* QEMU's isa-debug-exit device (and ttd) end the run on this write. */
    out32(DEBUG_EXIT_PORT, exit_value);
    /* Without such a device: stop here for good. */
    for (;;) {
        __asm__ volatile("cli\n\thlt");
    }
}
