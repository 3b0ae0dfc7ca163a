/*
 * A multiboot (v1) guest that prints, on COM1, what its boot loader handed it: the magic, the module
 * list (address, count, and per module its start, end, length, string and first bytes) and the
 * command line with its address. Under QEMU's -kernel and under ttd the output must be identical:
 * the modules and strings sit at the same addresses. It leaves through isa-debug-exit (status 1).
 */
#include "c-guest.h"

struct mb_info {
  u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct mb_module {
  u32 start, end, string, reserved;
};

void main(u32 magic, const struct mb_info *mbi) {
  print("magic=");
  hex(magic, 8);
  print(" flags&mods=");
  hex(mbi->flags & 0xc, 1);
  print("\nmods_count=");
  dec(mbi->mods_count);
  print(" mods_addr=");
  hex(mbi->mods_addr, 8);
  print("\n");
  const struct mb_module *m = (const struct mb_module *)mbi->mods_addr;
  for (u32 i = 0; i < mbi->mods_count; i++) {
    print("mod ");
    dec(i);
    print(": start=");
    hex(m[i].start, 8);
    print(" end=");
    hex(m[i].end, 8);
    print(" len=");
    dec(m[i].end - m[i].start);
    print(" string@");
    hex(m[i].string, 8);
    print("='");
    print((const char *)m[i].string);
    print("' bytes=");
    const u8 *p = (const u8 *)m[i].start;
    for (u32 j = 0; j < 8 && m[i].start + j < m[i].end; j++) {
      hex(p[j], 2);
      serial_putc(' ');
    }
    print("last=");
    if (m[i].end > m[i].start) hex(p[m[i].end - m[i].start - 1], 2);
    print("\n");
  }
  print("cmdline@");
  hex(mbi->cmdline, 8);
  print("='");
  print((const char *)mbi->cmdline);
  print("'\n");
  finish(0);
}
