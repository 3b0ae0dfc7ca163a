/**
 * Facts about the committed kernel images that the demo depends on, read straight from
 * the ELF files (no compiler or emulator needed).
 */
import { describe, expect, it } from "vitest";
import { PT_LOAD, SHT_NOBITS } from "../../src/elf/elf32.js";
import { KERNEL_IMAGES } from "./serial-expect.js";
import { KERNEL_OFFSET, bytesAt, hex, loadImage, symbol } from "./elf-util.js";

const MULTIBOOT_MAGIC = 0x1badb002;

describe.each(KERNEL_IMAGES)("%s.elf", (image) => {
  const elf = loadImage(image);

  it("carries a multiboot v1 header in its first 8 KiB and a physical entry point", () => {
    const view = new DataView(elf.bytes.buffer, elf.bytes.byteOffset, elf.bytes.byteLength);
    let found = -1;
    for (let o = 0; o + 12 <= Math.min(8192, elf.bytes.length); o += 4) {
      if (view.getUint32(o, true) === MULTIBOOT_MAGIC) {
        found = o;
        break;
      }
    }
    expect(found, "multiboot magic not found in the first 8192 bytes").toBeGreaterThanOrEqual(0);
    const sum = (view.getUint32(found, true) + view.getUint32(found + 4, true) + view.getUint32(found + 8, true)) >>> 0;
    expect(sum).toBe(0);
    expect(elf.entry).toBe(symbol(elf, "_start").value);
    expect(elf.entry).toBeLessThan(0x01000000);
  });

  it("is loaded low and linked high (kernel symbols at 0xe01xxxxx)", () => {
    for (const ph of elf.programHeaders.filter((p) => p.type === PT_LOAD)) {
      expect(ph.paddr).toBeGreaterThanOrEqual(0x100000);
      expect(ph.paddr + ph.memsz).toBeLessThan(0x400000); // inside the one 4 MiB kernel-window page
      if (ph.vaddr >= KERNEL_OFFSET) expect(ph.vaddr - KERNEL_OFFSET).toBe(ph.paddr);
    }
    for (const name of ["restore_user_context", "idle_thread", "ksIdleThreadTCB", "handle_syscall", "int_157"]) {
      expect((symbol(elf, name).value >>> 20).toString(16), name).toBe("e01");
    }
  });

  it("keeps the idle TCB in its own NOLOAD section bracketed by __idle_thread_start/_end", () => {
    const tcb = symbol(elf, "ksIdleThreadTCB");
    const sec = elf.section("._idle_thread");
    expect(sec?.type).toBe(SHT_NOBITS);
    expect(symbol(elf, "__idle_thread_start").value).toBe(tcb.value);
    expect(symbol(elf, "__idle_thread_end").value - tcb.value).toBe(2048);
    expect(tcb.size).toBe(2048);
    expect(tcb.value % 2048).toBe(0);
  });

  it("leaks no absolute path into its debug strings", () => {
    for (const name of [".debug_str", ".debug_line_str"]) {
      const sec = elf.section(name);
      expect(sec, name).toBeDefined();
      const strings = new TextDecoder().decode(elf.sectionData(sec!)).split("\0");
      expect(strings.filter((s) => s.startsWith("/")), name).toEqual([]);
    }
  });
});

describe("idle_thread", () => {
  it("has the compiler's frame-pointer prologue in idle-bug.elf (the seL4 12.1.0 bug)", () => {
    const elf = loadImage("idle-bug");
    const idle = symbol(elf, "idle_thread");
    const code = bytesAt(elf, idle.value, idle.size);
    expect(hex(code.subarray(0, 3))).toBe("55 89 e5"); // push %ebp; mov %esp,%ebp
    // ...and then the hlt loop: f4 (hlt) followed by a short jump back onto it.
    expect(hex(code.subarray(code.length - 3))).toBe("f4 eb fd");
  });

  it("is nothing but `1: hlt; jmp 1b` in idle-fixed.elf (the 13.0.0 fix)", () => {
    const elf = loadImage("idle-fixed");
    const idle = symbol(elf, "idle_thread");
    expect(hex(bytesAt(elf, idle.value, idle.size))).toBe("f4 eb fd");
  });
});
