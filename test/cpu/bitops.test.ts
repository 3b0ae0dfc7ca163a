/**
 * Bit operations and the later-CPU atomics: BT/BTS/BTR/BTC (register, immediate, and memory bit strings
 * with signed register offsets), BSF/BSR, BSWAP, CMPXCHG, CMPXCHG8B, XADD, and SETcc/CMOVcc/Jcc for all
 * sixteen conditions, from eager flags and from the lazy flags a CMP leaves.
 *
 * Flags: BT* define CF only and leave ZF unchanged (OF SF AF PF undefined: not asserted). BSF/BSR define
 * ZF only (CF OF SF AF PF undefined); with a zero source the destination is undefined (this CPU keeps it,
 * as QEMU and AMD do: asserted as kept). CMPXCHG sets all six as CMP; CMPXCHG8B changes only ZF; XADD
 * sets all six as ADD.
 */
import { describe, expect, it } from "vitest";
import {
  ARITH, CODE, DATA, F, flagNames, flatMachine, exec, expectException, loadCode, rd16, rd32, rd8, reg, setRegs, wr16, wr32, wr8, zsp, DS,
  segDesc, setGdt, forceSegment, ACC_DATA0,
} from "./harness.js";

const m = flatMachine();
const MID = DATA + 0x800; // the bit string is centred here so negative offsets stay in RAM

function clearBits(): void {
  m.mem.u8.fill(0, DATA, DATA + 0x1000);
}

describe("BT, BTS, BTR, BTC", () => {
  it("register operand: offset taken modulo the width; CF = old bit; ZF kept", () => {
    for (const [op, ext] of [[0xa3, -1], [0xab, 1], [0xb3, 2], [0xbb, 3]] as const) {
      for (const bit of [0, 5, 31, 32, 37, -1]) {
        for (const val of [0, 0xffffffff, 0x80000021]) {
          // bt/bts/btr/btc ebx, ecx
          exec(m, [0x0f, op, 0xcb], { regs: { ebx: val, ecx: bit }, flags: F.ZF });
          const b = bit & 31;
          const old = (val >>> b) & 1;
          const expected = ext === -1 ? val : ext === 1 ? (val | (1 << b)) >>> 0 : ext === 2 ? (val & ~(1 << b)) >>> 0 : (val ^ (1 << b)) >>> 0;
          expect(reg(m, "ebx"), `op ${op.toString(16)} bit ${bit} val ${val.toString(16)}`).toBe(expected);
          expect(m.cpu.getEflags() & (F.CF | F.ZF)).toBe((old ? F.CF : 0) | F.ZF);
        }
      }
    }
  });
  it("16-bit register operand: offset modulo 16", () => {
    exec(m, [0x66, 0x0f, 0xab, 0xcb], { regs: { ebx: 0xffff0000, ecx: 17 } }); // bts bx, cx
    expect(reg(m, "ebx")).toBe(0xffff0002);
    expect(m.cpu.getEflags() & F.CF).toBe(0);
  });
  it("immediate offset: masked to the width, memory address not moved", () => {
    clearBits();
    wr32(m, MID, 0x2);
    exec(m, [0x0f, 0xba, 0x26, 33], { regs: { esi: MID } }); // bt dword [esi], 33 -> bit 1
    expect(m.cpu.getEflags() & F.CF).toBe(F.CF);
    exec(m, [0x66, 0x0f, 0xba, 0x2e, 17], { regs: { esi: MID } }); // bts word [esi], 17 -> bit 1 (already set)
    expect(rd16(m, MID)).toBe(2);
    expect(m.cpu.getEflags() & F.CF).toBe(F.CF);
    exec(m, [0x0f, 0xba, 0x3e, 0x1f], { regs: { esi: MID } }); // btc dword [esi], 31
    expect(rd32(m, MID)).toBe(0x80000002);
    expect(m.cpu.getEflags() & F.CF).toBe(0);
  });
  it("memory bit string with positive and negative register offsets (32-bit)", () => {
    for (const bit of [0, 7, 8, 31, 32, 100, 1000, -1, -8, -9, -32, -33, -1000]) {
      clearBits();
      // bts [esi], ecx: sets bit `bit` of the string that starts at MID
      exec(m, [0x0f, 0xab, 0x0e], { regs: { esi: MID, ecx: bit } });
      const byte = MID + Math.floor(bit / 8);
      expect(rd8(m, byte), `bit ${bit}`).toBe(1 << (((bit % 8) + 8) % 8));
      const nonzero = Array.from(m.mem.u8.subarray(DATA, DATA + 0x1000)).filter((x) => x !== 0).length;
      expect(nonzero, "exactly one byte changed").toBe(1);
      expect(m.cpu.getEflags() & F.CF).toBe(0);
      // bt [esi], ecx sees it; btr clears it; btc toggles it back
      exec(m, [0x0f, 0xa3, 0x0e], { regs: { esi: MID, ecx: bit } });
      expect(m.cpu.getEflags() & F.CF).toBe(F.CF);
      exec(m, [0x0f, 0xb3, 0x0e], { regs: { esi: MID, ecx: bit } });
      expect(rd8(m, byte)).toBe(0);
      expect(m.cpu.getEflags() & F.CF).toBe(F.CF);
      exec(m, [0x0f, 0xbb, 0x0e], { regs: { esi: MID, ecx: bit } });
      expect(rd8(m, byte)).toBe(1 << (((bit % 8) + 8) % 8));
      expect(m.cpu.getEflags() & F.CF).toBe(0);
    }
  });
  it("16-bit operand: the register offset is a signed 16-bit value", () => {
    clearBits();
    // o16 bts [esi], cx with CX = 0xffff (-1): bit 7 of the byte before MID
    exec(m, [0x66, 0x0f, 0xab, 0x0e], { regs: { esi: MID, ecx: 0x1234ffff } });
    expect(rd8(m, MID - 1)).toBe(0x80);
    clearBits();
    exec(m, [0x66, 0x0f, 0xab, 0x0e], { regs: { esi: MID, ecx: 0x00000031 } }); // bit 49
    expect(rd8(m, MID + 6)).toBe(0x02);
  });
  it("a bit offset beyond the segment limit faults on the moved address", () => {
    setGdt(m, 6, segDesc(0, MID + 3, ACC_DATA0, 0x4));
    forceSegment(m, DS, 0x30);
    setRegs(m, { esi: MID, ecx: 32, esp: 0x10000 });
    loadCode(m, [0x0f, 0xa3, 0x0e]); // bt [esi], ecx: dword at MID+4 is past the limit
    expect(expectException(m)).toEqual({ vector: 13, error: 0 });
    forceSegment(m, DS, 0x10);
  });
});

describe("BSF and BSR", () => {
  it("find the lowest / highest set bit; ZF=0", () => {
    for (const v of [1, 2, 0x80000000, 0x00f00f00, 0xffffffff, 0x10]) {
      exec(m, [0x0f, 0xbc, 0xcb], { regs: { ebx: v, ecx: 0x55 }, flags: F.ZF }); // bsf ecx, ebx
      expect(reg(m, "ecx")).toBe(31 - Math.clz32(v & -v));
      expect(m.cpu.getEflags() & F.ZF).toBe(0);
      exec(m, [0x0f, 0xbd, 0xcb], { regs: { ebx: v, ecx: 0x55 }, flags: F.ZF }); // bsr ecx, ebx
      expect(reg(m, "ecx")).toBe(31 - Math.clz32(v));
      expect(m.cpu.getEflags() & F.ZF).toBe(0);
    }
  });
  it("zero source: ZF=1 and the destination kept", () => {
    exec(m, [0x0f, 0xbc, 0xcb], { regs: { ebx: 0, ecx: 0x55 } });
    expect(m.cpu.getEflags() & F.ZF).toBe(F.ZF);
    expect(reg(m, "ecx")).toBe(0x55);
    exec(m, [0x0f, 0xbd, 0xcb], { regs: { ebx: 0, ecx: 0x66 } });
    expect(reg(m, "ecx")).toBe(0x66);
    expect(m.cpu.getEflags() & F.ZF).toBe(F.ZF);
  });
  it("the undefined flags are QEMU's: a logic operation's on the source (CF OF AF clear, SF PF from it)", () => {
    exec(m, [0x0f, 0xbc, 0xcb], { regs: { ebx: 0, ecx: 0x55 }, flags: ARITH }); // bsf ecx, ebx
    expect(flagNames(m.cpu.getEflags() & ARITH)).toBe(flagNames(F.ZF | F.PF));
    exec(m, [0x0f, 0xbd, 0xcb], { regs: { ebx: 0x80000003, ecx: 0 } }); // bsr ecx, ebx
    expect([reg(m, "ecx"), flagNames(m.cpu.getEflags() & ARITH)]).toEqual([31, flagNames(F.SF | F.PF)]);
  });
  it("16-bit: only the low word of the source counts and only CX is written", () => {
    exec(m, [0x66, 0x0f, 0xbc, 0xcb], { regs: { ebx: 0x00010000, ecx: 0xaaaa5555 } }); // bsf cx, bx with BX = 0
    expect(m.cpu.getEflags() & F.ZF).toBe(F.ZF);
    exec(m, [0x66, 0x0f, 0xbd, 0xcb], { regs: { ebx: 0x00018000, ecx: 0xaaaa5555 } }); // bsr cx, bx
    expect(reg(m, "ecx")).toBe(0xaaaa000f);
  });
});

describe("BSWAP", () => {
  it("reverses the bytes of each 32-bit register", () => {
    for (let r = 0; r < 8; r++) {
      if (r === 4) continue;
      const regs = { eax: 0, ecx: 0, edx: 0, ebx: 0, ebp: 0, esi: 0, edi: 0 };
      const names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
      (regs as Record<string, number>)[names[r]] = 0x12345678;
      exec(m, [0x0f, 0xc8 + r], { regs }); // bswap r32
      expect(reg(m, names[r])).toBe(0x78563412);
    }
  });
});

describe("CMPXCHG", () => {
  it("32-bit memory, equal: stores the source, ZF=1, flags of CMP", () => {
    wr32(m, DATA, 100);
    exec(m, [0x0f, 0xb1, 0x0e], { regs: { eax: 100, ecx: 7, esi: DATA } }); // cmpxchg [esi], ecx
    expect(rd32(m, DATA)).toBe(7);
    expect(reg(m, "eax")).toBe(100);
    expect(m.cpu.getEflags() & ARITH).toBe(F.ZF | F.PF);
  });
  it("32-bit memory, not equal: loads EAX, keeps memory, flags of CMP EAX, [mem]", () => {
    wr32(m, DATA, 0x80000000);
    exec(m, [0x0f, 0xb1, 0x0e], { regs: { eax: 1, ecx: 7, esi: DATA } });
    expect(rd32(m, DATA)).toBe(0x80000000);
    expect(reg(m, "eax")).toBe(0x80000000);
    // 1 - 0x80000000 = 0x80000001: borrow, overflow, sign.
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.OF | F.SF);
  });
  it("8-bit registers: cmpxchg bl, cl", () => {
    exec(m, [0x0f, 0xb0, 0xcb], { regs: { eax: 0x1122_3344, ebx: 0x44, ecx: 0x99 } });
    expect(reg(m, "ebx")).toBe(0x99);
    expect(m.cpu.getEflags() & F.ZF).toBe(F.ZF);
    exec(m, [0x0f, 0xb0, 0xcb], { regs: { eax: 0x1122_3300, ebx: 0x44, ecx: 0x99 } });
    expect(reg(m, "eax")).toBe(0x11223344);
    expect(reg(m, "ebx")).toBe(0x44);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.SF | F.AF); // 0x00 - 0x44 = 0xbc (five one bits: PF clear)
  });
  it("16-bit: only AX is compared and loaded", () => {
    wr16(m, DATA, 0x1234);
    exec(m, [0x66, 0x0f, 0xb1, 0x0e], { regs: { eax: 0xffff1234, ecx: 0xaaaabbbb, esi: DATA } });
    expect(rd16(m, DATA)).toBe(0xbbbb);
    wr16(m, DATA, 0x5678);
    exec(m, [0x66, 0x0f, 0xb1, 0x0e], { regs: { eax: 0xffff1234, ecx: 0xaaaabbbb, esi: DATA } });
    expect(reg(m, "eax")).toBe(0xffff5678);
  });
});

describe("CMPXCHG8B", () => {
  it("equal: stores ECX:EBX, ZF=1, other flags unchanged", () => {
    wr32(m, DATA, 0x11111111);
    wr32(m, DATA + 4, 0x22222222);
    exec(m, [0x0f, 0xc7, 0x0e], { regs: { eax: 0x11111111, edx: 0x22222222, ebx: 0xaaaaaaaa, ecx: 0xbbbbbbbb, esi: DATA }, flags: F.CF | F.OF | F.SF });
    expect([rd32(m, DATA), rd32(m, DATA + 4)]).toEqual([0xaaaaaaaa, 0xbbbbbbbb]);
    expect(m.cpu.getEflags() & ARITH).toBe(F.ZF | F.CF | F.OF | F.SF);
  });
  it("not equal (high half differs): loads EDX:EAX, ZF=0, other flags unchanged", () => {
    wr32(m, DATA, 0x11111111);
    wr32(m, DATA + 4, 0x33333333);
    exec(m, [0x0f, 0xc7, 0x0e], { regs: { eax: 0x11111111, edx: 0x22222222, ebx: 1, ecx: 2, esi: DATA }, flags: F.ZF | F.PF | F.AF });
    expect([reg(m, "eax"), reg(m, "edx")]).toEqual([0x11111111, 0x33333333]);
    expect([rd32(m, DATA), rd32(m, DATA + 4)]).toEqual([0x11111111, 0x33333333]);
    expect(m.cpu.getEflags() & ARITH).toBe(F.PF | F.AF);
  });
  it("a register operand is #UD", () => {
    setRegs(m, { esp: 0x10000 });
    loadCode(m, [0x0f, 0xc7, 0xc8]); // cmpxchg8b with mod=3
    expect(expectException(m).vector).toBe(6);
  });
});

describe("XADD", () => {
  it("32-bit memory: [esi] += ecx, ecx = old [esi], flags of ADD", () => {
    wr32(m, DATA, 0xffffffff);
    exec(m, [0x0f, 0xc1, 0x0e], { regs: { ecx: 1, esi: DATA } }); // xadd [esi], ecx
    expect(rd32(m, DATA)).toBe(0);
    expect(reg(m, "ecx")).toBe(0xffffffff);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.ZF | F.PF | F.AF);
  });
  it("registers: xadd ecx, ebx and xadd bl, cl", () => {
    exec(m, [0x0f, 0xc1, 0xd9], { regs: { ecx: 0x7fffffff, ebx: 1 } }); // xadd ecx, ebx
    expect([reg(m, "ecx"), reg(m, "ebx")]).toEqual([0x80000000, 0x7fffffff]);
    expect(m.cpu.getEflags() & ARITH).toBe(F.OF | F.SF | F.AF | F.PF);
    exec(m, [0x0f, 0xc0, 0xcb], { regs: { ebx: 0x1280, ecx: 0x3480 } }); // xadd bl, cl
    expect([reg(m, "ebx"), reg(m, "ecx")]).toEqual([0x1200, 0x3480]);
    expect(m.cpu.getEflags() & ARITH).toBe(F.CF | F.ZF | F.PF | F.OF);
  });
  it("same register: xadd eax, eax leaves the sum (the destination is written last)", () => {
    exec(m, [0x0f, 0xc1, 0xc0], { regs: { eax: 21 } }); // xadd eax, eax
    expect(reg(m, "eax")).toBe(42);
    exec(m, [0x0f, 0xc0, 0xe4], { regs: { eax: 0x0300 } }); // xadd ah, ah
    expect(reg(m, "eax")).toBe(0x0600);
  });
});

// ---- Conditions ------------------------------------------------------------------------------------

const CC_NAMES = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

/** The SDM's definition of condition `cc` over eager flag bits. */
function holds(cc: number, f: number): boolean {
  const cf = (f & F.CF) !== 0, zf = (f & F.ZF) !== 0, sf = (f & F.SF) !== 0, of = (f & F.OF) !== 0, pf = (f & F.PF) !== 0;
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf !== of; break;
    default: r = zf || sf !== of; break;
  }
  return (cc & 1) !== 0 ? !r : r;
}

/** All 32 combinations of CF ZF SF OF PF. */
const FLAG_COMBOS = Array.from({ length: 32 }, (_, i) => (i & 1 ? F.CF : 0) | (i & 2 ? F.ZF : 0) | (i & 4 ? F.SF : 0) | (i & 8 ? F.OF : 0) | (i & 16 ? F.PF : 0));

describe.each(CC_NAMES.map((n, i) => [n, i] as const))("condition %s", (_name, cc) => {
  it("SETcc reg and mem, CMOVcc 32/16, Jcc rel8/rel32 under every flag combination", () => {
    for (const f of FLAG_COMBOS) {
      const want = holds(cc, f);
      const label = `cc ${CC_NAMES[cc]} flags ${f.toString(16)}`;
      exec(m, [0x0f, 0x90 + cc, 0xc1], { regs: { ecx: 0xffffffff }, flags: f }); // setcc cl
      expect(reg(m, "ecx"), label).toBe((0xffffff00 | (want ? 1 : 0)) >>> 0);
      wr8(m, DATA, 0x77);
      exec(m, [0x0f, 0x90 + cc, 0x06], { regs: { esi: DATA }, flags: f }); // setcc [esi]
      expect(rd8(m, DATA), label).toBe(want ? 1 : 0);
      exec(m, [0x0f, 0x40 + cc, 0xcb], { regs: { ecx: 1, ebx: 2 }, flags: f }); // cmovcc ecx, ebx
      expect(reg(m, "ecx"), label).toBe(want ? 2 : 1);
      wr16(m, DATA, 0xbeef);
      exec(m, [0x66, 0x0f, 0x40 + cc, 0x0e], { regs: { ecx: 0x12345678, esi: DATA }, flags: f }); // cmovcc cx, [esi]
      expect(reg(m, "ecx"), label).toBe(want ? 0x1234beef : 0x12345678);
      // jcc short +2 over "mov al, 1"... implemented as: jcc +2; mov cl,1 ; (end)
      exec(m, [0x70 + cc, 0x02, 0xb1, 0x01], { regs: { ecx: 0 }, flags: f });
      expect(reg(m, "ecx"), label).toBe(want ? 0 : 1);
      exec(m, [0x0f, 0x80 + cc, 0x02, 0, 0, 0, 0xb1, 0x01], { regs: { ecx: 0 }, flags: f }); // jcc near +2
      expect(reg(m, "ecx"), label).toBe(want ? 0 : 1);
      expect(m.cpu.getEflags() & ARITH & ~F.AF, "conditions read flags only").toBe(f);
    }
  });
  it("from the lazy flags of CMP over signed/unsigned boundary pairs", () => {
    const vals = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x7f, 0x80];
    for (const a of vals) for (const b of vals) {
      // cmp eax, ebx; setcc cl
      exec(m, [0x39, 0xd8, 0x0f, 0x90 + cc, 0xc1], { regs: { eax: a, ebx: b, ecx: 0 } });
      const ua = a >>> 0, ub = b >>> 0, sa = a | 0, sb = b | 0;
      const res = (ua - ub) >>> 0;
      const direct = [
        sa - sb !== (res | 0), // O: the signed difference does not fit
        ua < ub, ua === ub, ua <= ub, (res & 0x80000000) !== 0, (zsp(res, 32) & F.PF) !== 0, sa < sb, sa <= sb,
      ][cc >> 1];
      const want = (cc & 1) !== 0 ? !direct : direct;
      expect(reg(m, "ecx"), `cmp 0x${a.toString(16)}, 0x${b.toString(16)} set${CC_NAMES[cc]}`).toBe(want ? 1 : 0);
    }
  });
});

describe("CMOVcc reads its source even when the condition is false", () => {
  it("a source beyond the segment limit faults with ZF=0 (cmovz)", () => {
    setGdt(m, 6, segDesc(0, DATA, ACC_DATA0, 0x4));
    forceSegment(m, DS, 0x30);
    setRegs(m, { esi: DATA + 0x100, esp: 0x10000 });
    m.cpu.setEflags(2);
    loadCode(m, [0x0f, 0x44, 0x0e]); // cmovz ecx, [esi]
    expect(expectException(m)).toEqual({ vector: 13, error: 0 });
    expect(rd32(m, 0x10000 - 12)).toBe(CODE);
    forceSegment(m, DS, 0x10);
  });
});
