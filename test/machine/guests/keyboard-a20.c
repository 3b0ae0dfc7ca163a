/*
 * The 8042 keyboard controller and the A20 gate: status, command byte, self-test and interface
 * tests, the output port, keyboard commands and their ACKs (polled, interrupts off), then A20 turned
 * off and on through the output port, the 0xdd/0xdf commands and port 0x92, observed by writing
 * 0x100000 and reading 0x000000. Prints everything on COM1 for comparison with QEMU.
 */
#include "c-guest.h"

static void wait_input_empty(void) {
  for (int n = 10000; (inb(0x64) & 2) && n; n--) {
  }
}
static int read_data(void) {
  int n = 2000;
  while ((inb(0x64) & 1) == 0 && --n) {
  }
  return n ? inb(0x60) : -1;
}
static void command(u8 c) {
  wait_input_empty();
  outb(0x64, c);
}
static void data(u8 c) {
  wait_input_empty();
  outb(0x60, c);
}
/* "name[bytes ...] ": every byte the controller has for us. */
static void drain(const char *name) {
  print(name);
  serial_putc('[');
  int v;
  while ((v = read_data()) >= 0) {
    hex2((u32)v);
    serial_putc(' ');
  }
  print("] ");
}

void main(void) {
  show("st", inb(0x64));
  command(0x20); show("cb", read_data());
  command(0xd0); show("op", read_data());
  command(0xaa); show("self", read_data()); show("st", inb(0x64));
  command(0xab); show("itest", read_data());
  command(0xa9); show("atest", read_data());
  command(0xc0); show("inp", read_data());
  print("\n");
  command(0x60); data(0x44); /* interrupts off in the controller: this guest polls */
  command(0x20); show("cb", read_data());
  command(0xad); command(0x20); show("cbad", read_data());
  command(0xae); command(0x20); show("cbae", read_data());
  command(0xa7); command(0x20); show("cba7", read_data());
  command(0xa8); command(0x20); show("cba8", read_data());
  command(0xad); data(0xee); drain("echo-while-disabled"); command(0x20); show("cb", read_data());
  print("\n");
  data(0xff); drain("reset");
  data(0xed); drain("leds"); data(0x07); drain("");
  data(0xf0); drain("set"); data(0x00); drain("get");
  data(0xf0); drain("set"); data(0x01); drain(""); data(0xf0); drain(""); data(0x00); drain("get");
  data(0xf0); drain("set"); data(0x02); drain("");
  command(0x60); data(0x04); /* no translation */
  data(0xf2); drain("id-raw"); data(0xf0); drain(""); data(0x00); drain("get-raw");
  command(0x60); data(0x44);
  print("\n");
  data(0xf2); drain("id"); data(0xee); drain("echo"); data(0xf4); drain("enable"); data(0xf5); drain("disable");
  data(0xf6); drain("default"); data(0xf3); drain("rate"); data(0x20); drain(""); data(0x12); drain("unknown");
  command(0xd2); data(0x5a); drain("d2");
  command(0xd3); data(0x5b); show("st-aux", inb(0x64)); drain("d3");
  show("again", inb(0x60));
  print("\n");

  volatile u32 *low = (volatile u32 *)0x0, *high = (volatile u32 *)0x100000;
  *low = 0x11111111; *high = 0x22222222; show("a20-on", *low & 0xff);
  command(0xd1); data(0xdd); *high = 0x33333333; show("op-off", *low & 0xff);
  command(0xd0); show("op", read_data()); show("p92", inb(0x92));
  command(0xd1); data(0xdf); *low = 0x11111111; *high = 0x44444444; show("op-on", *low & 0xff);
  command(0xd0); show("op", read_data());
  outb(0x92, 0x00); *high = 0x55555555; show("92-off", *low & 0xff); show("p92", inb(0x92));
  command(0xd0); show("op", read_data());
  outb(0x92, 0x02); *low = 0x11111111; *high = 0x66666666; show("92-on", *low & 0xff);
  print("\n");
  command(0xdd); *high = 0x77777777; show("dd-off", *low & 0xff); command(0xd0); show("op", read_data());
  /* Reads fold too: 0x100004 is 0x000004 while the gate is closed. */
  *(volatile u32 *)0x4 = 0xabcd1234; show("fold-read", *(volatile u32 *)0x100004 & 0xff);
  command(0xdf); *low = 0x11111111; *high = 0x88888888; show("df-on", *low & 0xff); command(0xd0); show("op", read_data());
  print("\n");
  finish(0);
}
