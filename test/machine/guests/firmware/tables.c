/* Walks what the firmware leaves for a kernel and prints it on COM1: the multiboot memory map, the
   BIOS data area and EBDA, the Intel MP tables and the ACPI tables (RSDP, RSDT/XSDT, FADT, FACS,
   DSDT's \_S5 package, MADT). Lines starting with '~' hold values that are meant to differ between
   ttd and QEMU (OEM ids, addresses, tables one of them lacks); every other line must agree. */
#include "guest.h"

struct mbi { u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr, syms[4], mmap_length, mmap_addr; };

static void field(const char *name, u32 v, int digits) { putc(' '); puts(name); putc('='); puthex(v, digits); }

static void memory_map(struct mbi *mb) {
  puts("mb mem_lower="); putdec(mb->mem_lower); puts(" mem_upper="); putdec(mb->mem_upper); putc('\n');
  for (u32 a = mb->mmap_addr; a < mb->mmap_addr + mb->mmap_length; a += peek32(a) + 4) {
    puts("mmap "); puthex(peek32(a + 8), 8); puthex(peek32(a + 4), 8); putc(' ');
    puthex(peek32(a + 16), 8); puthex(peek32(a + 12), 8); putc(' '); putdec(peek32(a + 20)); putc('\n');
  }
}

static void bios_data_area(void) {
  puts("bda com"); for (int i = 0; i < 4; i++) { putc(' '); puthex(peek16(0x400 + 2 * i), 4); }
  puts(" ebda "); puthex(peek16(0x40e), 4); puts(" basemem "); putdec(peek16(0x413));
  puts(" kbdbuf "); puthex(peek16(0x41a), 4); putc('/'); puthex(peek16(0x41c), 4); putc('/');
  puthex(peek16(0x480), 4); putc('/'); puthex(peek16(0x482), 4);
  puts(" video "); puthex(peek8(0x449), 2); putc('/'); putdec(peek16(0x44a)); putc('/'); putdec(peek8(0x484) + 1);
  puts(" crtc "); puthex(peek16(0x463), 4); puts(" disks "); putdec(peek8(0x475)); putc('\n');
  puts("~bda lpt"); for (int i = 0; i < 3; i++) { putc(' '); puthex(peek16(0x408 + 2 * i), 4); }
  puts(" equipment "); puthex(peek16(0x410), 4); putc('\n');
  puts("ebda size "); putdec(peek8((u32)peek16(0x40e) << 4)); puts(" KiB\n");
}

/* The MP floating pointer: the first KiB of the EBDA, then 0xf0000-0xfffff, on 16-byte boundaries. */
static u32 find_sig(u32 from, u32 to, u32 sig, u32 sig2) {
  for (u32 a = from; a < to; a += 16)
    if (peek32(a) == sig && (sig2 == 0 || peek32(a + 4) == sig2)) return a;
  return 0;
}

static void mp_tables(void) {
  u32 ebda = (u32)peek16(0x40e) << 4;
  u32 fp = find_sig(ebda, ebda + 1024, 0x5f504d5f, 0);
  if (!fp) fp = find_sig(0xf0000, 0x100000, 0x5f504d5f, 0);
  if (!fp) { puts("mp none\n"); return; }
  puts("~mp float at "); puthex(fp, 8); putc('\n');
  puts("mp float len "); putdec(peek8(fp + 8)); puts(" rev "); putdec(peek8(fp + 9));
  puts(sum8(fp, 16) == 0 ? " sum ok" : " sum BAD"); field("features", peek32(fp + 11) & 0xffffff, 6);
  field("feature1", peek8(fp + 11), 2); putc('\n');
  u32 t = peek32(fp + 4);
  u32 len = peek16(t + 4);
  puts("~mp config at "); puthex(t, 8); puts(" oem "); putn(t + 8, 8); puts(" product "); putn(t + 16, 12); putc('\n');
  puts("mp config "); putn(t, 4); puts(" len "); putdec(len); puts(" rev "); putdec(peek8(t + 6));
  puts(sum8(t, len) == 0 ? " sum ok" : " sum BAD"); puts(" entries "); putdec(peek16(t + 34));
  field("lapic", peek32(t + 36), 8); puts(" extlen "); putdec(peek16(t + 40)); putc('\n');
  u32 e = t + 44;
  for (u32 n = 0; n < peek16(t + 34); n++) {
    u8 type = peek8(e);
    if (type == 0) {
      puts("mp cpu apic "); putdec(peek8(e + 1)); field("ver", peek8(e + 2), 2); field("flags", peek8(e + 3), 2); putc('\n');
      puts("~mp cpu signature "); puthex(peek32(e + 4), 8); puts(" features "); puthex(peek32(e + 8), 8); putc('\n');
      e += 20;
    } else if (type == 1) {
      puts("mp bus "); putdec(peek8(e + 1)); putc(' '); putn(e + 2, 6); putc('\n');
      e += 8;
    } else if (type == 2) {
      puts("mp ioapic id "); putdec(peek8(e + 1)); field("ver", peek8(e + 2), 2); field("flags", peek8(e + 3), 2);
      field("addr", peek32(e + 4), 8); putc('\n');
      e += 8;
    } else if (type == 3 || type == 4) {
      puts(type == 3 ? "mp ioint" : "mp lint"); field("type", peek8(e + 1), 2); field("flags", peek16(e + 2), 4);
      field("bus", peek8(e + 4), 2); field("irq", peek8(e + 5), 2); field("dst", peek8(e + 6), 2); field("pin", peek8(e + 7), 2); putc('\n');
      e += 8;
    } else {
      puts("mp unknown entry type "); putdec(type); putc('\n');
      return;
    }
  }
}

static void print_sig(u32 a) { putn(a, 4); }

static void acpi_header(u32 a, int compared) {
  puts(compared ? "acpi " : "~acpi "); print_sig(a); puts(" rev "); putdec(peek8(a + 8)); puts(" len ");
  if (compared) putdec(peek32(a + 4)); else { putdec(peek32(a + 4)); puts(" at "); puthex(a, 8); }
  puts(sum8(a, peek32(a + 4)) == 0 ? " sum ok" : " sum BAD");
  putc('\n');
  puts("~acpi "); print_sig(a); puts(" oem "); putn(a + 10, 6); putc('/'); putn(a + 16, 8); putc('\n');
}

static void fadt(u32 f) {
  acpi_header(f, 1);
  puts("fadt"); field("sci", peek16(f + 46), 4); field("smi", peek32(f + 48), 8); field("enable", peek8(f + 52), 2);
  field("disable", peek8(f + 53), 2); field("pm1a_evt", peek32(f + 56), 8); field("pm1a_cnt", peek32(f + 64), 8);
  field("pm_tmr", peek32(f + 76), 8); field("gpe0", peek32(f + 80), 8); putc('\n');
  puts("fadt"); field("pm1_evt_len", peek8(f + 88), 2); field("pm1_cnt_len", peek8(f + 89), 2);
  field("pm_tmr_len", peek8(f + 91), 2); field("gpe0_len", peek8(f + 92), 2); field("lvl2", peek16(f + 96), 4);
  field("lvl3", peek16(f + 98), 4); field("century", peek8(f + 108), 2); field("flags", peek32(f + 112), 8);
  field("model", peek8(f + 44), 2); putc('\n');
  u32 facs = peek32(f + 36);
  puts("facs "); print_sig(facs); puts(" len "); putdec(peek32(facs + 4)); puts(facs % 64 == 0 ? " aligned" : " unaligned");
  field("waking", peek32(facs + 12), 8); putc('\n');
  u32 d = peek32(f + 40);
  acpi_header(d, 0);
  u32 len = peek32(d + 4);
  for (u32 a = d + 36; a + 8 < d + len; a++) {
    if (peek32(a) != 0x5f35535f) continue; /* "_S5_" */
    /* Name(_S5, Package(n){SLP_TYPa, SLP_TYPb, ...}): PackageOp, PkgLength (one byte), NumElements. */
    u32 p = a + 4;
    if (peek8(p) != 0x12) continue;
    p += 3;
    puts("dsdt _S5");
    for (int i = 0; i < 2; i++) {
      u8 op = peek8(p);
      u32 v = op == 0x0a ? peek8(p + 1) : op == 0x01 ? 1 : 0;
      p += op == 0x0a ? 2 : 1;
      puts(" "); putdec(v);
    }
    putc('\n');
    return;
  }
  puts("dsdt no _S5\n");
}

static void madt(u32 m) {
  acpi_header(m, 1);
  puts("madt"); field("lapic", peek32(m + 36), 8); field("flags", peek32(m + 40), 8); putc('\n');
  for (u32 e = m + 44; e < m + peek32(m + 4); e += peek8(e + 1)) {
    u8 type = peek8(e);
    if (type == 0) { puts("madt lapic cpu "); putdec(peek8(e + 2)); puts(" id "); putdec(peek8(e + 3)); field("flags", peek32(e + 4), 8); }
    else if (type == 1) { puts("madt ioapic id "); putdec(peek8(e + 2)); field("addr", peek32(e + 4), 8); puts(" gsi "); putdec(peek32(e + 8)); }
    else if (type == 2) { puts("madt override bus "); putdec(peek8(e + 2)); puts(" irq "); putdec(peek8(e + 3)); puts(" gsi "); putdec(peek32(e + 4)); field("flags", peek16(e + 8), 4); }
    else if (type == 4) { puts("madt lapic-nmi cpu "); puthex(peek8(e + 2), 2); field("flags", peek16(e + 3), 4); puts(" lint "); putdec(peek8(e + 5)); }
    else { puts("madt type "); putdec(type); }
    putc('\n');
    if (peek8(e + 1) == 0) return;
  }
}

static void acpi_tables(void) {
  u32 ebda = (u32)peek16(0x40e) << 4;
  u32 r = find_sig(ebda, ebda + 1024, 0x20445352, 0x20525450);
  if (!r) r = find_sig(0xe0000, 0x100000, 0x20445352, 0x20525450); /* "RSD PTR " */
  if (!r) { puts("acpi none\n"); return; }
  puts("rsdp"); puts(sum8(r, 20) == 0 ? " sum ok" : " sum BAD"); putc('\n');
  u8 rev = peek8(r + 15);
  puts("~rsdp at "); puthex(r, 8); puts(" rev "); putdec(rev); puts(" oem "); putn(r + 9, 6);
  if (rev >= 2) { puts(" len "); putdec(peek32(r + 20)); puts(sum8(r, peek32(r + 20)) == 0 ? " xsum ok" : " xsum BAD"); }
  putc('\n');
  u32 rsdt = peek32(r + 16);
  acpi_header(rsdt, 0);
  u32 n = (peek32(rsdt + 4) - 36) / 4;
  for (u32 i = 0; i < n; i++) {
    u32 t = peek32(rsdt + 36 + 4 * i);
    u32 sig = peek32(t);
    if (sig == 0x50434146) fadt(t); /* FACP */
    else if (sig == 0x43495041) madt(t); /* APIC */
    else acpi_header(t, 0);
  }
  if (rev >= 2) {
    u32 xsdt = peek32(r + 24);
    acpi_header(xsdt, 0);
    u32 nx = (peek32(xsdt + 4) - 36) / 8;
    puts("~xsdt");
    for (u32 i = 0; i < nx; i++) { putc(' '); print_sig(peek32(xsdt + 36 + 8 * i)); puts(peek32(xsdt + 36 + 8 * i) == peek32(rsdt + 36 + 4 * i) ? "=rsdt" : "!=rsdt"); }
    putc('\n');
  }
}

int main(u32 magic, struct mbi *mb) {
  if (magic != 0x2badb002) { puts("bad magic\n"); return 1; }
  memory_map(mb);
  bios_data_area();
  mp_tables();
  acpi_tables();
  return 0;
}
