/*
 * A multiboot guest that drives the IDE channels by PIO and prints what it sees on COM1, so the
 * output can be compared byte for byte with QEMU's. The test attaches disks whose sector contents
 * are a known function of the sector number (see test/machine/ide.test.ts).
 *
 * The command line's last word says which drives to probe: a digit per present drive index ("012": the
 * primary master and slave and the secondary master); other indexes are left alone (QEMU adds an
 * empty CD-ROM at index 2 when no disk is there, which this machine does not model).
 *
 * Every wait polls the alternate status until BSY clears (QEMU completes commands asynchronously;
 * this machine at once) and then for the interrupt, so both print the same. Leaves through
 * isa-debug-exit with status 0 ((0 << 1) | 1 = 1).
 */
#include "c-guest.h"
#include "c-guest-irq.h"

/* ---- interrupts: IRQ 14 and 15 counted ---- */
volatile u32 irq_count[2];

void isr14(void);
void isr15(void);
void isr_other(void);
__asm__(
  ".text\n"
  "isr14: push %eax\n push %edx\n incl irq_count\n mov $0x1f7, %dx\n in %dx, %al\n jmp 1f\n"
  "isr15: push %eax\n push %edx\n incl irq_count+4\n mov $0x177, %dx\n in %dx, %al\n"
  "1: mov $0x20, %al\n out %al, $0xa0\n out %al, $0x20\n pop %edx\n pop %eax\n iret\n"
  "isr_other: push %eax\n mov $0x20, %al\n out %al, $0xa0\n out %al, $0x20\n pop %eax\n iret\n");

static void setup_interrupts(void) {
  for (int v = 0; v < 256; v++) set_gate(v, isr_other);
  set_gate(0x2e, isr14);
  set_gate(0x2f, isr15);
  load_idt();
  pic_remap(0xfb, 0x3f);
  __asm__ volatile("sti");
}

/* ---- the IDE channel ---- */
static u16 BASE[2] = { 0x1f0, 0x170 };
static u16 CTRL[2] = { 0x3f6, 0x376 };
static int ch;  /* the channel in use */

static u8 alt(void) { return inb(CTRL[ch]); }

/* Waits for BSY to clear (bounded), then gives a pending interrupt time to arrive. */
static void settle(void) {
  for (int i = 0; i < 1000000 && (alt() & 0x80); i++) {}
  for (volatile int i = 0; i < 2000; i++) {}
}

static void select_drive(int unit, u8 head_bits) { outb(BASE[ch] + 6, (u8)(0xa0 | (unit << 4) | head_bits)); settle(); }

static void regs(const char *what) {
  u16 b = BASE[ch];
  print(what);
  print(" st="); hex(alt(), 2);
  print(" er="); hex(inb(b + 1), 2);
  print(" n="); hex(inb(b + 2), 2);
  print(" s="); hex(inb(b + 3), 2);
  print(" l="); hex(inb(b + 4), 2);
  print(" h="); hex(inb(b + 5), 2);
  print(" d="); hex(inb(b + 6), 2);
  print(" irq="); dec(irq_count[0]); serial_putc('/'); dec(irq_count[1]);
  serial_putc('\n');
}

static void command(u8 cmd) { outb(BASE[ch] + 7, cmd); settle(); }

static void lba28(u32 lba, u8 count, int unit) {
  u16 b = BASE[ch];
  outb(b + 6, (u8)(0xe0 | (unit << 4) | ((lba >> 24) & 15)));
  outb(b + 2, count);
  outb(b + 3, (u8)lba);
  outb(b + 4, (u8)(lba >> 8));
  outb(b + 5, (u8)(lba >> 16));
}

static u32 fnv;
static void fnv_word(u16 w) {
  fnv = (fnv ^ (w & 0xff)) * 16777619u;
  fnv = (fnv ^ (w >> 8)) * 16777619u;
}

/* Reads `sectors` sectors of data, in blocks of `block` sectors, 16 or 32 bits at a time; prints checksums. */
static void read_data(u32 sectors, u32 block, int wide) {
  u16 b = BASE[ch];
  for (u32 s = 0; s < sectors; s++) {
    if (s % block == 0) settle();
    if (!(alt() & 0x08)) { print(" noDRQ"); regs("  at"); return; }
    fnv = 2166136261u;
    for (int i = 0; i < 256; i += wide ? 2 : 1) {
      if (wide) { u32 v = inl(b); fnv_word((u16)v); fnv_word((u16)(v >> 16)); }
      else fnv_word(inw(b));
    }
    print(" "); hex(fnv, 8);
  }
  serial_putc('\n');
  settle();
}

/* Writes `sectors` sectors, in blocks of `block`: each word is (seed + sector * 256 + word index). */
static void write_data(u32 sectors, u32 block, u16 seed) {
  u16 b = BASE[ch];
  for (u32 s = 0; s < sectors; s++) {
    if (s % block == 0) settle();
    if (!(alt() & 0x08)) { print(" noDRQ"); regs("  at"); return; }
    for (u32 i = 0; i < 256; i++) outw(b, (u16)(seed + s * 256 + i));
  }
  settle();
}

static void identify(int unit) {
  select_drive(unit, 0);
  command(0xec);
  regs(" identify");
  if (!(alt() & 0x08)) return;
  for (int i = 0; i < 256; i++) {
    if (i % 16 == 0) { print("  w"); hex((u32)i, 2); serial_putc(':'); }
    serial_putc(' '); hex(inw(BASE[ch]), 4);
    if (i % 16 == 15) serial_putc('\n');
  }
  settle();
  regs(" after");
}

static int probe[4];

static void drive_tests(int unit) {
  print("read lba 0 x4:"); lba28(0, 4, unit); command(0x20); read_data(4, 1, 0); regs(" end");
  print("read lba 100 x2 (32-bit):"); lba28(100, 2, unit); command(0x20); read_data(2, 1, 1); regs(" end");
  /* CHS: cylinder 1, head 2, sector 5 through the reported geometry (default 16 heads, 63 sectors). */
  print("read chs 1/2/5 x3:");
  outb(BASE[ch] + 6, (u8)(0xa0 | (unit << 4) | 2)); outb(BASE[ch] + 2, 3); outb(BASE[ch] + 3, 5);
  outb(BASE[ch] + 4, 1); outb(BASE[ch] + 5, 0);
  command(0x20); read_data(3, 1, 0); regs(" end");
  print("set multiple 4:"); outb(BASE[ch] + 2, 4); command(0xc6); regs("");
  print("read multiple lba 8 x10:"); lba28(8, 10, unit); command(0xc4); read_data(10, 4, 0); regs(" end");
  print("set multiple 3:"); outb(BASE[ch] + 2, 3); command(0xc6); regs("");
  print("write lba 20 x2:"); lba28(20, 2, unit); command(0x30); write_data(2, 1, 0x1234); regs(" end");
  print("read back:"); lba28(20, 2, unit); command(0x20); read_data(2, 1, 0); regs(" end");
  print("write multiple lba 30 x6:"); lba28(30, 6, unit); command(0xc5); write_data(6, 4, 0x7700); regs(" end");
  print("read back:"); lba28(29, 8, unit); command(0xc4); read_data(8, 4, 1); regs(" end");
  print("read past end:"); lba28(0x0fffffff, 1, unit); command(0x20); regs("");
  print("unknown command 0x55:"); command(0x55); regs("");
  print("set multiple 0, read multiple:"); outb(BASE[ch] + 2, 0); command(0xc6); lba28(0, 1, unit); command(0xc4); regs("");
  print("check power mode:"); command(0xe5); regs("");
  print("read native max:"); outb(BASE[ch] + 6, (u8)(0xe0 | (unit << 4))); command(0xf8); regs("");
  print("flush:"); command(0xe7); regs("");
  print("nIEN read:"); outb(CTRL[ch], 0x02); lba28(0, 1, unit); command(0x20); read_data(1, 1, 0); regs(" end");
  outb(CTRL[ch], 0x00);
  print("register write during DRQ:"); lba28(1, 1, unit); command(0x20); outb(BASE[ch] + 2, 0x77); regs(" mid");
  read_data(1, 1, 0); regs(" end");
  print("read ext lba 50 x2:");
  outb(BASE[ch] + 6, (u8)(0x40 | (unit << 4)));
  outb(BASE[ch] + 2, 0); outb(BASE[ch] + 3, 0); outb(BASE[ch] + 4, 0); outb(BASE[ch] + 5, 0);
  outb(BASE[ch] + 2, 2); outb(BASE[ch] + 3, 50); outb(BASE[ch] + 4, 0); outb(BASE[ch] + 5, 0);
  command(0x24); read_data(2, 1, 0); regs(" end");
  outb(CTRL[ch], 0x80); regs(" hob"); outb(CTRL[ch], 0x00);
  print("write ext lba 40 x1, read back:");
  outb(BASE[ch] + 2, 0); outb(BASE[ch] + 3, 0);
  outb(BASE[ch] + 2, 1); outb(BASE[ch] + 3, 40);
  command(0x34); write_data(1, 1, 0x4242); regs(" end");
  lba28(40, 1, unit); command(0x20); read_data(1, 1, 0); regs(" end");
  print("read count 0 (256):"); lba28(0, 0, unit); command(0x20); read_data(256, 1, 1); regs(" end");
}

static void channel(int c, int master, int slave) {
  ch = c;
  print("== channel "); dec((u32)c); serial_putc('\n');
  regs("entry");
  /* Select a present drive first: QEMU's reset is asynchronous and registers ignore writes while
     the selected drive is busy, so the wait below must watch a drive that exists. */
  outb(BASE[ch] + 6, master ? 0xa0 : 0xb0);
  outb(CTRL[ch], 0x04);
  settle();
  outb(CTRL[ch], 0x00);
  settle();
  for (int unit = 0; unit < 2; unit++) {
    select_drive(unit, 0);
    print("unit "); dec((u32)unit); regs(" reset");
  }
  if (master) identify(0);
  if (slave) identify(1);
  if (master) drive_tests(0);
  else if (slave) drive_tests(1);
}

void main(u32 magic, u32 *mbi) {
  (void)magic;
  const char *cmdline = (mbi[0] & 4) ? (const char *)mbi[4] : "";
  /* QEMU puts the kernel's file name before the arguments: read the last word only. */
  const char *last = cmdline;
  for (const char *p = cmdline; *p; p++) if (*p == ' ') last = p + 1;
  for (const char *p = last; *p; p++) if (*p >= '0' && *p <= '3') probe[*p - '0'] = 1;
  setup_interrupts();
  channel(0, probe[0], probe[1]);
  if (probe[2] || probe[3]) channel(1, probe[2], probe[3]);
  print("done\n");
  outl(0xf4, 0);
}
