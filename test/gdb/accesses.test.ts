import { describe, expect, it } from "vitest";
import { AccessAnalyzer } from "../../src/gdb/accesses.js";
import type { Registers } from "../../src/trace/trace.js";

const code = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/ /g, ""), "hex"));

function regs(over: Partial<Registers> = {}): Registers {
  return {
    eax: 0x1000, ecx: 3, edx: 0, ebx: 0x2000, esp: 0x8000, ebp: 0x9000, esi: 0x3000, edi: 0x4000,
    eip: 0x100000, eflags: 0x202, cs: 8, ds: 0x10, es: 0x10, fs: 0x33, gs: 0x3b, ss: 0x10,
    cr0: 0, cr2: 0, cr3: 0, cr4: 0, cpl: 0, ...over,
  };
}

// Segment bases in ES, CS, SS, DS, FS, GS order.
const FLAT = [0, 0, 0, 0, 0, 0];

describe("AccessAnalyzer", () => {
  const a = new AccessAnalyzer();

  it("push writes the word below ESP; pop and ret read at ESP", () => {
    expect(a.accesses(code("55"), regs(), FLAT)).toEqual([{ linear: 0x7ffc, size: 4, read: false, write: true }]);
    expect(a.accesses(code("5d"), regs(), FLAT)).toEqual([{ linear: 0x8000, size: 4, read: true, write: false }]);
    expect(a.accesses(code("c3"), regs(), FLAT)).toEqual([{ linear: 0x8000, size: 4, read: true, write: false }]);
  });

  it("explicit operands use base + index * scale + displacement", () => {
    // mov 0x8(%ebp), %eax
    expect(a.accesses(code("8b 45 08"), regs(), FLAT)).toEqual([{ linear: 0x9008, size: 4, read: true, write: false }]);
    // movb %al, -0x10(%ebx,%esi,4)
    expect(a.accesses(code("88 44 b3 f0"), regs(), FLAT)).toEqual([{ linear: 0x2000 + 0x3000 * 4 - 0x10, size: 1, read: false, write: true }]);
    // addl $1, (%eax): read and write
    expect(a.accesses(code("83 00 01"), regs(), FLAT)).toEqual([{ linear: 0x1000, size: 4, read: true, write: true }]);
    // lea touches no memory
    expect(a.accesses(code("8d 45 08"), regs(), FLAT)).toEqual([]);
  });

  it("adds the segment base (fs:)", () => {
    // mov %fs:0x10, %eax
    expect(a.accesses(code("64 a1 10 00 00 00"), regs(), [0, 0, 0, 0, 0x5000, 0])).toEqual([{ linear: 0x5010, size: 4, read: true, write: false }]);
  });

  it("rep movsl covers ECX elements, downwards when DF is set", () => {
    expect(a.accesses(code("f3 a5"), regs(), FLAT)).toEqual(
      expect.arrayContaining([
        { linear: 0x3000, size: 12, read: true, write: false },
        { linear: 0x4000, size: 12, read: false, write: true },
      ]),
    );
    const down = a.accesses(code("f3 a5"), regs({ eflags: 0x602 }), FLAT);
    expect(down).toEqual(
      expect.arrayContaining([
        { linear: 0x3000 - 8, size: 12, read: true, write: false },
        { linear: 0x4000 - 8, size: 12, read: false, write: true },
      ]),
    );
    expect(a.accesses(code("f3 a5"), regs({ ecx: 0 }), FLAT)).toEqual([]);
  });

  it("re-decodes when the code at an address changes", () => {
    const r = regs({ eip: 0x200000 });
    expect(a.accesses(code("55"), r, FLAT)[0].write).toBe(true);
    expect(a.accesses(code("5d"), r, FLAT)[0].read).toBe(true);
  });
});
