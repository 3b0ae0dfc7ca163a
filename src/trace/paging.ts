/**
 * Linear-to-physical translation for queries, without side effects: the MMU's own walk sets accessed
 * and dirty bits (memory writes that would change the replayed machine), so queries use this
 * read-only walk of the 32-bit page tables instead (4 KiB pages, and 4 MiB pages under CR4.PSE).
 */

const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;
const P_PRESENT = 1;
const P_LARGE = 0x80;

export interface PagingRegisters {
  cr0: number;
  cr3: number;
  cr4: number;
  /** The MMU's A20 mask (physical bit 20 cleared while the gate is closed); absent means open. */
  mmu?: { a20Mask: number };
}

function readPhys32(mem: Uint8Array, addr: number): number | null {
  const a = addr >>> 0;
  if (a + 4 > mem.length) return null;
  return (mem[a] | (mem[a + 1] << 8) | (mem[a + 2] << 16) | (mem[a + 3] << 24)) >>> 0;
}

/** The physical address of linear `lin`, or null when it is not mapped (or its tables lie outside RAM). */
export function translateLinear(mem: Uint8Array, regs: PagingRegisters, lin: number): number | null {
  const l = lin >>> 0;
  const a20 = regs.mmu?.a20Mask ?? -1;
  if ((regs.cr0 & CR0_PG) === 0) return (l & a20) >>> 0;
  const pde = readPhys32(mem, ((regs.cr3 & ~0xfff) + ((l >>> 22) << 2)) & a20);
  if (pde === null || (pde & P_PRESENT) === 0) return null;
  if ((pde & P_LARGE) !== 0 && (regs.cr4 & CR4_PSE) !== 0) return (((pde & 0xffc00000) | (l & 0x3fffff)) & a20) >>> 0;
  const pte = readPhys32(mem, ((pde & ~0xfff) + (((l >>> 12) & 0x3ff) << 2)) & a20);
  if (pte === null || (pte & P_PRESENT) === 0) return null;
  return (((pte & ~0xfff) | (l & 0xfff)) & a20) >>> 0;
}

/**
 * Physical pieces of the linear range [lin, lin + size): one per page, in order. A piece whose page is
 * not mapped has `physical` null.
 */
export function linearPieces(mem: Uint8Array, regs: PagingRegisters, lin: number, size: number): { linear: number; physical: number | null; size: number }[] {
  const out: { linear: number; physical: number | null; size: number }[] = [];
  let a = lin >>> 0;
  let left = size;
  while (left > 0) {
    const n = Math.min(left, 0x1000 - (a & 0xfff));
    out.push({ linear: a, physical: translateLinear(mem, regs, a), size: n });
    a = (a + n) >>> 0;
    left -= n;
  }
  return out;
}

/** Reads `size` bytes at linear `lin`; bytes of unmapped pages or outside RAM are null. */
export function readLinearBytes(mem: Uint8Array, regs: PagingRegisters, lin: number, size: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (const piece of linearPieces(mem, regs, lin, size)) {
    for (let i = 0; i < piece.size; i++) {
      const p = piece.physical === null ? -1 : piece.physical + i;
      out.push(p >= 0 && p < mem.length ? mem[p] : null);
    }
  }
  return out;
}
