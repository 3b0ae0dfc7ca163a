/**
 * A tiny byte assembler for hand-written DWARF in tests: forms compilers rarely emit (strx3, addrx4,
 * data16, ref_addr, indirect, DWARF64...) are checked on input whose every byte is known.
 */
export class Bytes {
  readonly out: number[] = [];

  get length(): number {
    return this.out.length;
  }

  u8(...v: number[]): this {
    for (const x of v) this.out.push(x & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v, v >> 8);
  }

  u24(v: number): this {
    return this.u8(v, v >> 8, v >> 16);
  }

  u32(v: number): this {
    return this.u8(v, v >> 8, v >> 16, v >>> 24);
  }

  u64(v: bigint | number): this {
    const b = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.out.push(Number((b >> (8n * i)) & 0xffn));
    return this;
  }

  uleb(v: number | bigint): this {
    let x = BigInt(v);
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      this.out.push(byte);
    } while (x !== 0n);
    return this;
  }

  sleb(v: number | bigint): this {
    let x = BigInt(v);
    for (;;) {
      const byte = Number(x & 0x7fn);
      x >>= 7n;
      const done = (x === 0n && (byte & 0x40) === 0) || (x === -1n && (byte & 0x40) !== 0);
      this.out.push(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }

  str(s: string): this {
    for (const c of new TextEncoder().encode(s)) this.out.push(c);
    this.out.push(0);
    return this;
  }

  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.out.push(b[i]);
    return this;
  }

  /** Overwrites a 32-bit value at `offset` (for lengths known only at the end). */
  patch32(offset: number, v: number): this {
    this.out[offset] = v & 0xff;
    this.out[offset + 1] = (v >> 8) & 0xff;
    this.out[offset + 2] = (v >> 16) & 0xff;
    this.out[offset + 3] = (v >>> 24) & 0xff;
    return this;
  }

  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A minimal ELF32 i386 executable holding the given sections (no segments, no symbols unless given). */
export function makeElf(sections: Record<string, Uint8Array>, symtab?: { name: string; value: number; size: number; info: number; shndx: number }[]): Uint8Array {
  const names = Object.keys(sections);
  const shstr = new Bytes().u8(0);
  const nameOffsets: number[] = [];
  const all = [...names, ".shstrtab", ...(symtab ? [".symtab", ".strtab"] : [])];
  for (const n of all) {
    nameOffsets.push(shstr.length);
    shstr.str(n);
  }
  const datas: Uint8Array[] = names.map((n) => sections[n]);
  datas.push(shstr.build());
  if (symtab) {
    const strtab = new Bytes().u8(0);
    const sym = new Bytes().u32(0).u32(0).u32(0).u8(0, 0).u16(0);
    for (const s of symtab) {
      const off = strtab.length;
      strtab.str(s.name);
      sym.u32(off).u32(s.value).u32(s.size).u8(s.info, 0).u16(s.shndx);
    }
    datas.push(sym.build(), strtab.build());
  }
  const out = new Bytes();
  const shoff = 52;
  const shnum = all.length + 1;
  let dataOff = shoff + shnum * 40;
  // ELF header
  out.u8(0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0).u8(0, 0, 0, 0, 0, 0, 0, 0);
  out.u16(2).u16(3).u32(1).u32(0).u32(0).u32(shoff).u32(0).u16(52).u16(32).u16(0).u16(40).u16(shnum).u16(names.length + 1);
  out.u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0);
  const symIndex = names.length + 2;
  datas.forEach((d, i) => {
    const isSym = symtab && i === names.length + 1;
    const isStr = symtab && i === names.length + 2;
    const type = isSym ? 2 : isStr || i === names.length ? 3 : 1;
    out.u32(nameOffsets[i]).u32(type).u32(0).u32(0).u32(dataOff).u32(d.length)
      .u32(isSym ? symIndex + 1 : 0).u32(0).u32(1).u32(isSym ? 16 : 0);
    dataOff += d.length;
  });
  for (const d of datas) out.bytes(d);
  return out.build();
}
