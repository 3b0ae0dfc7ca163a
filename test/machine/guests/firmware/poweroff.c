/* Powers the machine off the way an ACPI kernel does: finds the FADT and the DSDT's \_S5 package,
   switches to ACPI mode through the SMI command port, checks the PM timer runs, then writes
   SLP_TYP | SLP_EN to PM1a control and halts. QEMU acts on the power-off request a few instructions
   later, so the guest must not exit by itself after the write: it halts with interrupts off. */
#include "guest.h"

static u32 find_rsdp(void) {
  for (u32 a = 0xe0000; a < 0x100000; a += 16)
    if (peek32(a) == 0x20445352 && peek32(a + 4) == 0x20525450) return a;
  return 0;
}

static u32 find_table(u32 rsdt, u32 sig) {
  u32 n = (peek32(rsdt + 4) - 36) / 4;
  for (u32 i = 0; i < n; i++) if (peek32(peek32(rsdt + 36 + 4 * i)) == sig) return peek32(rsdt + 36 + 4 * i);
  return 0;
}

int main(void) {
  u32 rsdp = find_rsdp();
  if (!rsdp) { puts("no RSDP\n"); return 1; }
  u32 fadt = find_table(peek32(rsdp + 16), 0x50434146);
  if (!fadt) { puts("no FADT\n"); return 1; }
  u32 dsdt = peek32(fadt + 40), smi = peek32(fadt + 48), cnt = peek32(fadt + 64), tmr = peek32(fadt + 76);
  u32 evt = peek32(fadt + 56);
  u32 slp_typ = 0xffffffff;
  for (u32 a = dsdt + 36; a + 8 < dsdt + peek32(dsdt + 4); a++) {
    if (peek32(a) != 0x5f35535f || peek8(a + 4) != 0x12) continue;
    u8 op = peek8(a + 7);
    slp_typ = op == 0x0a ? peek8(a + 8) : op == 0x01 ? 1 : 0;
    break;
  }
  puts("S5 SLP_TYP "); putdec(slp_typ); putc('\n');
  puts("pm1_sts tmr "); putdec(inw(evt) & 1); puts(" pm1_en "); puthex(inw(evt + 2), 4); puts(" pm1_cnt "); puthex(inw(cnt), 4); putc('\n');
  outb(smi, peek8(fadt + 52));
  puts("after acpi enable pm1_cnt "); puthex(inw(cnt), 4); putc('\n');
  outw(evt, 1); /* clear TMR_STS */
  puts("pm1_sts tmr after clear "); putdec(inw(evt) & 1); putc('\n');
  u32 t0 = inl(tmr);
  for (volatile int i = 0; i < 20000; i++) {}
  u32 t1 = inl(tmr);
  puts("pm timer 24-bit "); puts((t0 | t1) >> 24 ? "no" : "yes"); puts(" advances "); puts(t1 != t0 ? "yes" : "no"); putc('\n');
  puts("powering off\n");
  outw(cnt, (u16)((slp_typ << 10) | (1 << 13)));
  for (;;) __asm__ volatile("cli; hlt");
}
