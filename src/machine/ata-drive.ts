/**
 * One ATA hard disk on an IDE channel (or the empty place of one): its task-file registers, the
 * commands a PIO driver uses, and the data transfer through the 16/32-bit data port. Modelled on
 * what QEMU 7.2's IDE disk ("QEMU HARDDISK") shows a guest, so drivers written against QEMU see the
 * same registers:
 *
 *  - IDENTIFY DEVICE (0xec) returns QEMU's data: serial "QM0000n", firmware "2.5+", model "QEMU
 *    HARDDISK", the guessed CHS geometry, LBA28 and LBA48 capacities, multiple-sector maximum 16.
 *    The data is built once, as QEMU caches it at the firmware's first IDENTIFY (so word 59, the
 *    current multiple setting, keeps the power-on 16).
 *  - READ/WRITE SECTORS (0x20/0x21, 0x30/0x31), READ/WRITE MULTIPLE (0xc4/0xc5) after SET MULTIPLE
 *    MODE (0xc6: 0 or a power of two up to 16), their LBA48 forms (0x24/0x34/0x29/0x39), with LBA28,
 *    LBA48 or CHS addressing; a sector count of 0 means 256 (65536 for LBA48). As in QEMU the address
 *    and count registers already point past a block when its data becomes readable, and a request
 *    beyond the end of the disk is aborted (ABRT, not IDNF).
 *  - non-data commands: RECALIBRATE, SEEK, VERIFY, INITIALIZE DEVICE PARAMETERS (accepted, geometry
 *    unchanged), EXECUTE DEVICE DIAGNOSTIC, FLUSH CACHE (EXT), CHECK POWER MODE, the standby/idle/sleep
 *    family, SET FEATURES (write cache, transfer mode, the no-op subcommands), READ NATIVE MAX
 *    ADDRESS (EXT). Anything else (DMA, SMART, packet commands) is aborted: status 0x41, error 0x04.
 *
 * Timing: every command completes within the OUT instruction that issues it, and every block within
 * the data-port access that ends it, so BSY is never seen; the interrupt is raised at those points.
 * Status is ERR 0x01, DRQ 0x08, DSC 0x10, DRDY 0x40, BSY 0x80.
 */
import type { DiskImage } from "./disk-image.js";
import { SECTOR_BYTES } from "./disk-image.js";
import { guessGeometry, type DiskGeometry } from "./disk-geometry.js";

export const ST_ERR = 0x01;
export const ST_DRQ = 0x08;
export const ST_DSC = 0x10;
export const ST_DRDY = 0x40;
export const ST_BSY = 0x80;
export const ERR_ABRT = 0x04;

/** The largest READ/WRITE MULTIPLE block (IDENTIFY word 47), as QEMU. */
export const MAX_MULT_SECTORS = 16;

/** Device/head register bits. */
const SEL_LBA = 0x40;
const SEL_ALWAYS_ON = 0xa0;

/** What the end of the current data transfer leads to. */
const enum Transfer {
  /** Nothing (or IDENTIFY's single block): DRQ drops and the command is over. */
  Stop = 0,
  /** Sectors for the guest to read; the next block is fetched when this one is drained. */
  Read = 1,
  /** Sectors from the guest; written to the disk when the block is full. */
  Write = 2,
}

export interface AtaDriveState {
  feature: number; hobFeature: number; error: number; nsector: number; hobNsector: number;
  sector: number; hobSector: number; lcyl: number; hobLcyl: number; hcyl: number; hobHcyl: number;
  select: number; status: number; lba48: boolean; multSectors: number; reqSectors: number;
  transfer: number; dataPos: number; dataEnd: number;
  /** The transfer buffer while a transfer is in progress (base64): up to dataEnd for reads, dataPos for writes. */
  buffer: string;
  /** IDENTIFY words that SET FEATURES changes: 62, 63, 85, 88. */
  identifyWords: number[];
}

const CHANGEABLE_WORDS = [62, 63, 85, 88] as const;

/** Writes `text` into IDENTIFY words as ATA strings: space-padded, two characters per word, first in the high byte. */
function putString(words: Uint16Array, first: number, text: string, chars: number): void {
  for (let i = 0; i < chars; i += 2) {
    const hi = i < text.length ? text.charCodeAt(i) : 0x20;
    const lo = i + 1 < text.length ? text.charCodeAt(i + 1) : 0x20;
    words[first + i / 2] = (hi << 8) | lo;
  }
}

export class AtaDrive {
  /** The medium, or null where no drive is attached. */
  readonly disk: DiskImage | null;
  readonly geometry: DiskGeometry;
  feature = 0;
  hobFeature = 0;
  error = 0;
  /** Sector count; after a command starts it holds the whole count (256 or 65536 for 0). */
  nsector = 0;
  hobNsector = 0;
  sector = 0;
  hobSector = 0;
  lcyl = 0;
  hobLcyl = 0;
  hcyl = 0;
  hobHcyl = 0;
  select = SEL_ALWAYS_ON;
  status = ST_DRDY | ST_DSC;
  private lba48 = false;
  private multSectors = MAX_MULT_SECTORS;
  /** Sectors per block of the command in progress (1, or the multiple setting). */
  private reqSectors = 1;
  private transfer = Transfer.Stop;
  private dataPos = 0;
  private dataEnd = 0;
  private readonly buffer = new Uint8Array(MAX_MULT_SECTORS * SECTOR_BYTES);
  private readonly identify = new Uint16Array(256);
  private readonly raiseIrq: () => void;

  /**
   * `serial` numbers the drive as QEMU does (drive index + 1);
   * `raiseIrq` asserts the channel's interrupt (the channel applies nIEN).
   */
  constructor(disk: DiskImage | null, serial: number, raiseIrq: () => void) {
    this.disk = disk;
    this.raiseIrq = raiseIrq;
    const total = disk?.sectors ?? 0;
    const mbr = new Uint8Array(SECTOR_BYTES);
    if (disk !== null && total > 0) disk.read(0, mbr, 0);
    this.geometry = guessGeometry(mbr, total);
    if (disk !== null) this.buildIdentify(serial);
    this.reset();
  }

  get present(): boolean {
    return this.disk !== null;
  }

  private buildIdentify(serial: number): void {
    const w = this.identify;
    const g = this.geometry;
    const total = this.disk!.sectors;
    w[0] = 0x0040;
    w[1] = g.cylinders;
    w[3] = g.heads;
    w[4] = (SECTOR_BYTES * g.sectors) & 0xffff;
    w[5] = SECTOR_BYTES;
    w[6] = g.sectors;
    putString(w, 10, `QM${String(serial).padStart(5, "0")}`, 20);
    w[20] = 3;
    w[21] = 512;
    w[22] = 4;
    putString(w, 23, "2.5+", 8);
    putString(w, 27, "QEMU HARDDISK", 40);
    w[47] = 0x8000 | MAX_MULT_SECTORS;
    w[48] = 1;
    w[49] = (1 << 11) | (1 << 9) | (1 << 8);
    w[51] = 0x200;
    w[52] = 0x200;
    w[53] = 1 | (1 << 1) | (1 << 2);
    w[54] = g.cylinders;
    w[55] = g.heads;
    w[56] = g.sectors;
    const chs = g.cylinders * g.heads * g.sectors;
    w[57] = chs & 0xffff;
    w[58] = (chs >>> 16) & 0xffff;
    w[59] = 0x100 | MAX_MULT_SECTORS;
    const lba28 = Math.min(total, (1 << 28) - 1);
    w[60] = lba28 & 0xffff;
    w[61] = (lba28 >>> 16) & 0xffff;
    w[62] = 0x07;
    w[63] = 0x07;
    w[64] = 0x03;
    w[65] = 120;
    w[66] = 120;
    w[67] = 120;
    w[68] = 120;
    w[69] = 1 << 14; // deterministic data after TRIM (QEMU's disks advertise discard)
    w[80] = 0xf0;
    w[81] = 0x16;
    w[82] = (1 << 14) | (1 << 5) | 1;
    w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);
    w[84] = 1 << 14;
    w[85] = (1 << 14) | (1 << 5) | 1;
    w[86] = (1 << 13) | (1 << 12) | (1 << 10);
    w[87] = 1 << 14;
    w[88] = 0x3f | (1 << 13);
    w[93] = 1 | (1 << 14) | 0x2000;
    w[100] = total & 0xffff;
    w[101] = Math.floor(total / 0x10000) & 0xffff;
    w[102] = Math.floor(total / 0x100000000) & 0xffff;
    w[103] = 0;
    w[106] = 0x6000;
    w[169] = 1;
  }

  /** A software or hardware reset: registers to their reset values, then the diagnostic's signature. */
  reset(): void {
    this.multSectors = MAX_MULT_SECTORS;
    this.feature = this.error = this.nsector = this.sector = this.lcyl = this.hcyl = 0;
    this.hobFeature = this.hobNsector = this.hobSector = this.hobLcyl = this.hobHcyl = 0;
    this.select = SEL_ALWAYS_ON;
    this.lba48 = false;
    this.stopTransfer();
    this.diagnose();
  }

  /** EXECUTE DEVICE DIAGNOSTIC's effect: the signature, error 0x01 ("passed"), DRDY|DSC. */
  private diagnose(): void {
    this.select &= 0xf0;
    this.nsector = 1;
    this.sector = 1;
    this.lcyl = this.hcyl = this.present ? 0 : 0xff;
    this.status = ST_DRDY | ST_DSC;
    this.error = 0x01;
  }

  /** Runs command `cmd` (written to the command register while this drive is selected). */
  execute(cmd: number): void {
    // Only DEVICE RESET (for packet devices, which this is not) is taken while BSY or DRQ is set.
    if ((this.status & (ST_BSY | ST_DRQ)) !== 0) return;
    this.status = ST_DRDY;
    this.error = 0;
    let dsc = false;
    switch (cmd) {
      case 0xec: // IDENTIFY DEVICE
        if (!this.present) { this.abort(); break; }
        this.buffer.set(new Uint8Array(this.identify.buffer), 0);
        this.status = ST_DRDY | ST_DSC;
        this.startTransfer(Transfer.Stop, SECTOR_BYTES);
        this.raiseIrq();
        return;
      case 0x20: case 0x21: case 0x24: // READ SECTORS (EXT)
        if (!this.present) { this.abort(); break; }
        this.countTransform(cmd === 0x24);
        this.reqSectors = 1;
        this.readBlock();
        return;
      case 0xc4: case 0x29: // READ MULTIPLE (EXT)
        if (!this.present || this.multSectors === 0) { this.abort(); break; }
        this.countTransform(cmd === 0x29);
        this.reqSectors = this.multSectors;
        this.readBlock();
        return;
      case 0x30: case 0x31: case 0x34: case 0x3c: // WRITE SECTORS (EXT), WRITE VERIFY
        if (!this.present) { this.abort(); break; }
        this.countTransform(cmd === 0x34);
        this.reqSectors = 1;
        this.status = ST_DRDY | ST_DSC;
        this.startTransfer(Transfer.Write, SECTOR_BYTES);
        return;
      case 0xc5: case 0x39: // WRITE MULTIPLE (EXT)
        if (!this.present || this.multSectors === 0) { this.abort(); break; }
        this.countTransform(cmd === 0x39);
        this.reqSectors = this.multSectors;
        this.status = ST_DRDY | ST_DSC;
        this.startTransfer(Transfer.Write, Math.min(this.nsector, this.reqSectors) * SECTOR_BYTES);
        return;
      case 0xc6: { // SET MULTIPLE MODE
        const n = this.nsector & 0xff;
        if (n !== 0 && (n > MAX_MULT_SECTORS || (n & (n - 1)) !== 0)) {
          this.abort();
          break;
        }
        this.multSectors = n;
        dsc = true;
        break;
      }
      case 0x40: case 0x41: case 0x42: // READ VERIFY SECTORS (EXT): nothing to check in memory
        this.countTransform(cmd === 0x42);
        dsc = true;
        break;
      case 0x10: case 0x70: case 0x91: // RECALIBRATE, SEEK, INITIALIZE DEVICE PARAMETERS
        dsc = true;
        break;
      case 0x94: case 0x95: case 0x96: case 0x97: case 0x99: // standby, idle, sleep (no power states)
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6:
        break;
      case 0x98: case 0xe5: // CHECK POWER MODE: active or idle
        this.nsector = 0xff;
        dsc = true;
        break;
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        this.diagnose();
        this.raiseIrq();
        return;
      case 0xe7: case 0xea: // FLUSH CACHE (EXT): the overlay is always up to date
        this.status = ST_DRDY | ST_DSC;
        this.raiseIrq();
        return;
      case 0xef: // SET FEATURES
        if (!this.setFeatures()) return;
        dsc = true;
        break;
      case 0xf8: case 0x27: // READ NATIVE MAX ADDRESS (EXT)
        if (!this.present || this.disk!.sectors === 0) {
          this.abort();
          break;
        }
        this.countTransform(cmd === 0x27);
        this.setSector(this.disk!.sectors - 1);
        dsc = true;
        break;
      default:
        this.abort();
        this.raiseIrq();
        return;
    }
    if (dsc && this.error === 0) this.status |= ST_DSC;
    this.raiseIrq();
  }

  /** SET FEATURES by the feature register; returns false when it completed on its own (flush). */
  private setFeatures(): boolean {
    if (!this.present) {
      this.abort();
      return true;
    }
    const w = this.identify;
    switch (this.feature) {
      case 0x02: // write cache enable
        w[85] = (1 << 14) | (1 << 5) | 1;
        return true;
      case 0x82: // write cache disable, which flushes
        w[85] = (1 << 14) | 1;
        this.status = ST_DRDY | ST_DSC;
        this.raiseIrq();
        return false;
      case 0xcc: case 0x66: case 0xaa: case 0x55: case 0x05: case 0x85:
      case 0x69: case 0x67: case 0x96: case 0x9a: case 0x42: case 0xc2:
        return true;
      case 0x03: { // set transfer mode: the mode selected shows in IDENTIFY words 62, 63 and 88
        const mode = this.nsector & 0x07;
        w[62] = 0x07;
        w[63] = 0x07;
        w[88] = 0x3f;
        switch (this.nsector >> 3) {
          case 0x00: case 0x01: break;
          case 0x02: w[62] |= 1 << (mode + 8); break;
          case 0x04: w[63] |= 1 << (mode + 8); break;
          case 0x08: w[88] |= 1 << (mode + 8); break;
          default: this.abort();
        }
        return true;
      }
      default:
        this.abort();
        return true;
    }
  }

  private abort(): void {
    this.stopTransfer();
    this.status = ST_DRDY | ST_ERR;
    this.error = ERR_ABRT;
  }

  /** Turns the count registers into the whole count: 0 means 256 (LBA28/CHS) or 65536 (LBA48). */
  private countTransform(lba48: boolean): void {
    this.lba48 = lba48;
    if (!lba48) {
      if (this.nsector === 0) this.nsector = 256;
    } else if (this.nsector === 0 && this.hobNsector === 0) {
      this.nsector = 65536;
    } else {
      this.nsector = (this.hobNsector << 8) | (this.nsector & 0xff);
    }
  }

  /** The sector the address registers name (LBA28, LBA48 or CHS through the geometry). */
  private currentSector(): number {
    if ((this.select & SEL_LBA) !== 0) {
      if (!this.lba48) return ((this.select & 0x0f) << 24) + (this.hcyl << 16) + (this.lcyl << 8) + this.sector;
      return this.hobHcyl * 2 ** 40 + this.hobLcyl * 2 ** 32 + this.hobSector * 2 ** 24 + (this.hcyl << 16) + (this.lcyl << 8) + this.sector;
    }
    const g = this.geometry;
    return ((this.hcyl << 8) | this.lcyl) * g.heads * g.sectors + (this.select & 0x0f) * g.sectors + (this.sector - 1);
  }

  private setSector(n: number): void {
    if ((this.select & SEL_LBA) !== 0) {
      if (!this.lba48) {
        this.select = (this.select & 0xf0) | ((n >>> 24) & 0x0f);
        this.hcyl = (n >>> 16) & 0xff;
        this.lcyl = (n >>> 8) & 0xff;
        this.sector = n & 0xff;
      } else {
        this.sector = n & 0xff;
        this.lcyl = Math.floor(n / 2 ** 8) & 0xff;
        this.hcyl = Math.floor(n / 2 ** 16) & 0xff;
        this.hobSector = Math.floor(n / 2 ** 24) & 0xff;
        this.hobLcyl = Math.floor(n / 2 ** 32) & 0xff;
        this.hobHcyl = Math.floor(n / 2 ** 40) & 0xff;
      }
      return;
    }
    const g = this.geometry;
    const perCyl = g.heads * g.sectors;
    const cyl = Math.floor(n / perCyl);
    const r = n % perCyl;
    this.hcyl = (cyl >>> 8) & 0xff;
    this.lcyl = cyl & 0xff;
    this.select = (this.select & 0xf0) | (Math.floor(r / g.sectors) & 0x0f);
    this.sector = ((r % g.sectors) + 1) & 0xff;
  }

  /** True when sectors [first, first + count) lie on the disk. */
  private inRange(first: number, count: number): boolean {
    const total = this.disk!.sectors;
    return first <= total && count <= total - first;
  }

  /** Fetches the next block of a read into the buffer and offers it to the guest (or ends the command). */
  private readBlock(): void {
    this.status = ST_DRDY | ST_DSC;
    this.error = 0;
    if (this.nsector === 0) {
      this.stopTransfer();
      return;
    }
    const first = this.currentSector();
    const n = Math.min(this.nsector, this.reqSectors);
    if (!this.inRange(first, n)) {
      this.abort();
      this.raiseIrq();
      return;
    }
    const disk = this.disk!;
    for (let i = 0; i < n; i++) disk.read(first + i, this.buffer, i * SECTOR_BYTES);
    this.setSector(first + n);
    this.nsector -= n;
    this.startTransfer(Transfer.Read, n * SECTOR_BYTES);
    this.raiseIrq();
  }

  /** Writes the block the guest filled, then asks for the next one or ends the command. */
  private writeBlock(): void {
    this.status = ST_DRDY | ST_DSC;
    const first = this.currentSector();
    const n = Math.min(this.nsector, this.reqSectors);
    if (!this.inRange(first, n)) {
      this.abort();
      this.raiseIrq();
      return;
    }
    const disk = this.disk!;
    for (let i = 0; i < n; i++) disk.write(first + i, this.buffer, i * SECTOR_BYTES);
    this.nsector -= n;
    this.setSector(first + n);
    if (this.nsector === 0) this.stopTransfer();
    else this.startTransfer(Transfer.Write, Math.min(this.nsector, this.reqSectors) * SECTOR_BYTES);
    this.raiseIrq();
  }

  private startTransfer(kind: Transfer, bytes: number): void {
    this.transfer = kind;
    this.dataPos = 0;
    this.dataEnd = bytes;
    if ((this.status & ST_ERR) === 0) this.status |= ST_DRQ;
  }

  private stopTransfer(): void {
    this.transfer = Transfer.Stop;
    this.dataPos = 0;
    this.dataEnd = 0;
    this.status &= ~ST_DRQ;
  }

  /** The block is complete: continue the command. */
  private endOfBlock(): void {
    this.status &= ~ST_DRQ;
    if (this.transfer === Transfer.Read) this.readBlock();
    else if (this.transfer === Transfer.Write) this.writeBlock();
    else this.stopTransfer();
  }

  /** A 2- or 4-byte read of the data port: the next bytes of a transfer to the guest, or 0. */
  readData(size: 2 | 4): number {
    if ((this.status & ST_DRQ) === 0 || this.transfer === Transfer.Write) return 0;
    const p = this.dataPos;
    if (p + size > this.dataEnd) return 0;
    const b = this.buffer;
    const v = size === 2 ? b[p] | (b[p + 1] << 8) : b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    this.dataPos = p + size;
    if (this.dataPos >= this.dataEnd) this.endOfBlock();
    return v;
  }

  /** A 2- or 4-byte write of the data port: the next bytes of a transfer from the guest (else ignored). */
  writeData(size: 2 | 4, value: number): void {
    if ((this.status & ST_DRQ) === 0 || this.transfer !== Transfer.Write) return;
    const p = this.dataPos;
    if (p + size > this.dataEnd) return;
    const b = this.buffer;
    b[p] = value & 0xff;
    b[p + 1] = (value >>> 8) & 0xff;
    if (size === 4) {
      b[p + 2] = (value >>> 16) & 0xff;
      b[p + 3] = (value >>> 24) & 0xff;
    }
    this.dataPos = p + size;
    if (this.dataPos >= this.dataEnd) this.endOfBlock();
  }

  saveState(): AtaDriveState {
    // What the guest can still observe: the bytes left to read, or the bytes it has written so far.
    const kept = this.dataEnd === 0 ? 0 : this.transfer === Transfer.Write ? this.dataPos : this.dataEnd;
    return {
      feature: this.feature, hobFeature: this.hobFeature, error: this.error, nsector: this.nsector, hobNsector: this.hobNsector,
      sector: this.sector, hobSector: this.hobSector, lcyl: this.lcyl, hobLcyl: this.hobLcyl, hcyl: this.hcyl, hobHcyl: this.hobHcyl,
      select: this.select, status: this.status, lba48: this.lba48, multSectors: this.multSectors, reqSectors: this.reqSectors,
      transfer: this.transfer, dataPos: this.dataPos, dataEnd: this.dataEnd,
      buffer: kept > 0 ? Buffer.from(this.buffer.subarray(0, kept)).toString("base64") : "",
      identifyWords: CHANGEABLE_WORDS.map((i) => this.identify[i]),
    };
  }

  loadState(state: unknown): void {
    const s = state as AtaDriveState;
    if (typeof s !== "object" || s === null || typeof s.status !== "number" || typeof s.buffer !== "string" || !Array.isArray(s.identifyWords)) {
      throw new Error("ATA drive state is malformed");
    }
    this.feature = s.feature; this.hobFeature = s.hobFeature; this.error = s.error; this.nsector = s.nsector; this.hobNsector = s.hobNsector;
    this.sector = s.sector; this.hobSector = s.hobSector; this.lcyl = s.lcyl; this.hobLcyl = s.hobLcyl; this.hcyl = s.hcyl; this.hobHcyl = s.hobHcyl;
    this.select = s.select; this.status = s.status; this.lba48 = s.lba48; this.multSectors = s.multSectors; this.reqSectors = s.reqSectors;
    this.transfer = s.transfer; this.dataPos = s.dataPos; this.dataEnd = s.dataEnd;
    if (this.dataEnd > this.buffer.length || this.dataPos > this.dataEnd) throw new Error("ATA drive state is malformed (transfer bounds)");
    this.buffer.fill(0);
    if (s.buffer !== "") this.buffer.set(Buffer.from(s.buffer, "base64").subarray(0, this.buffer.length));
    if (this.present) CHANGEABLE_WORDS.forEach((i, k) => (this.identify[i] = s.identifyWords[k] ?? this.identify[i]));
  }
}
