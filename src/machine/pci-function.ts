/**
 * One PCI function's 256-byte type-0 configuration space: the bytes as the firmware left them, a
 * per-byte write mask (everything else is read-only), and I/O BARs that answer a size probe (all
 * ones written) with their size, as hardware does. A function has no behaviour of its own here: the
 * device behind it (if any) reads its registers through `config`.
 */
export interface IoBar {
  /** Offset of the BAR in configuration space (0x10 + 4 * n). */
  offset: number;
  /** Size of the I/O window in bytes (a power of two). */
  size: number;
}

export interface PciFunctionSpec {
  name: string;
  device: number;
  fn: number;
  /** Configuration bytes from offset 0, as firmware leaves them; the rest are zero. */
  image: ArrayLike<number>;
  /** Writable bit masks, as [offset, mask bytes...] runs, beyond the standard ones. */
  writable: Array<[number, ...number[]]>;
  ioBars?: IoBar[];
}

/** Bits of the command register a guest may change (I/O, memory, bus master, special cycles, parity, SERR, INTx disable). */
const COMMAND_WRITABLE = 0x0547;
const CACHE_LINE_SIZE = 0x0c;
const LATENCY_TIMER = 0x0d;
const INTERRUPT_LINE = 0x3c;

export class PciFunction {
  readonly name: string;
  readonly device: number;
  readonly fn: number;
  readonly config = new Uint8Array(256);
  private readonly mask = new Uint8Array(256);
  private readonly ioBars: IoBar[];
  /** Called after every configuration write (a device whose registers follow its configuration). */
  onWrite: (() => void) | null = null;
  /**
   * saveState()'s text until the next write: the recorder saves the state at every keyframe, and
   * guests rarely touch configuration space once they have set it up.
   */
  private saved: string | null = null;

  constructor(spec: PciFunctionSpec) {
    this.name = spec.name;
    this.device = spec.device;
    this.fn = spec.fn;
    this.config.set(Array.from(spec.image));
    this.ioBars = spec.ioBars ?? [];
    this.mask[4] = COMMAND_WRITABLE & 0xff;
    this.mask[5] = COMMAND_WRITABLE >> 8;
    this.mask[CACHE_LINE_SIZE] = 0xff;
    this.mask[LATENCY_TIMER] = 0xff;
    this.mask[INTERRUPT_LINE] = 0xff;
    for (const [offset, ...bytes] of spec.writable) bytes.forEach((m, i) => (this.mask[offset + i] = m));
    for (const bar of this.ioBars) {
      // An I/O BAR: bit 0 reads 1 and the bits below the size read 0, so writing all ones reads back
      // the size (0xfffffff1 for 16 bytes, as QEMU answers).
      const m = ~(bar.size - 1) & ~3;
      for (let i = 0; i < 4; i++) this.mask[bar.offset + i] = (m >>> (8 * i)) & 0xff;
    }
  }

  /** Reads `size` bytes at `offset` (which the host keeps within one dword). */
  read(offset: number, size: 1 | 2 | 4): number {
    const c = this.config;
    if (size === 1) return c[offset];
    if (size === 2) return c[offset] | (c[offset + 1] << 8);
    return (c[offset] | (c[offset + 1] << 8) | (c[offset + 2] << 16) | (c[offset + 3] << 24)) | 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const m = this.mask[o];
      this.config[o] = (this.config[o] & ~m) | ((value >>> (8 * i)) & m);
    }
    this.saved = null;
    if (this.onWrite !== null) this.onWrite();
  }

  /** A 16-bit register's value. */
  word(offset: number): number {
    return this.config[offset] | (this.config[offset + 1] << 8);
  }

  saveState(): string {
    return (this.saved ??= Buffer.from(this.config).toString("hex"));
  }

  loadState(state: unknown): void {
    if (typeof state !== "string" || !/^[0-9a-f]{512}$/.test(state)) throw new Error(`PCI function ${this.name}: state is malformed`);
    this.config.set(Buffer.from(state, "hex"));
    this.saved = null;
  }
}
