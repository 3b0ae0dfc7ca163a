/**
 * Compiled blocks by physical address, and the bookkeeping that keeps them true to memory: pages
 * holding compiled code lose their TLB write permission, so every write to them takes the MMU's
 * slow path, which drops the blocks whose bytes it overwrites.
 */
import { compileBlock, type BlockEnv, type CompiledBlock } from "./compile-block.js";

const SLOTS = 1 << 14;

/**
 * Compiled blocks kept at once. Each holds its generated source, bytecode and machine code (some
 * kilobytes); Debian's Linux boot to power-off enters about 47,000 blocks (and then holds about 670 MB,
 * guest RAM included). When the cache is full it is emptied and the code still in use is compiled
 * again, as QEMU flushes its translation buffer, so that memory stays bounded on longer runs. Too small a
 * cache costs compile time: at 16,384 the same boot compiled 77,500 blocks and took 23% more CPU.
 */
const MAX_LIVE_BLOCKS = 65536;

/**
 * The compile threshold of a whole run (`ttd run`, `ttd record`). Compiling a block costs far more
 * than running it a few times: generating its JS, V8 parsing and compiling that (about 0.4 ms for a
 * 3 KB block) and optimizing it once hot (some ms, on another thread); a block first run by the
 * interpreter pays none of that. A Linux boot enters about 31,000 blocks in its first second of
 * kernel init (2.3 G to 3 G steps), half of them fewer than three times. Compiling at the 256th entry
 * instead of the first: 3,550 blocks there instead of 31,189, the whole boot 42.6 s of CPU instead
 * of 56.0 s and 284 MiB of RSS instead of 655 (1,000 entries changed neither much further).
 */
export const RUN_COMPILE_THRESHOLD = 256;

/** A block's key: its physical address and the two sizes its code was compiled for. */
function keyOf(phys: number, def32: boolean, stack32: boolean): number {
  return (phys >>> 0) * 4 + (def32 ? 2 : 0) + (stack32 ? 1 : 0);
}

export class BlockCache {
  /** Keys (see keyOf) of the blocks in the direct-mapped slots. */
  private readonly slotKeys = new Float64Array(SLOTS).fill(-1);
  private readonly slotBlocks: (CompiledBlock | null)[] = new Array(SLOTS).fill(null);
  /** Blocks by physical page, keyed by keyOf. */
  private readonly pages = new Map<number, Map<number, CompiledBlock>>();
  /** 1 for each physical page that holds compiled code. */
  readonly codePages: Uint8Array;
  compiled = 0;
  invalidated = 0;
  /** Blocks in the cache now, and how often it was emptied for being full. */
  private live = 0;
  flushes = 0;
  /**
   * How often each uncompiled code address was entered, a counter per byte of the pages where code
   * was interpreted (only with a threshold). Exact: the interpreter looks up every instruction it
   * runs, so shared (hashed) counters would let the many addresses of cold code add up and compile it.
   */
  private readonly heat: Map<number, Uint16Array> | null;

  /**
   * `threshold`: how many times code at an address is entered (and interpreted) before it is
   * compiled; 0 compiles on first use. Compiling a block costs about as much as interpreting it a
   * few hundred times, so a short re-execution (a query replaying some thousands of steps from a
   * keyframe) is faster interpreted, while a long run compiles everything that loops.
   */
  constructor(
    private readonly env: BlockEnv,
    private readonly onNewCodePage: (page: number) => void,
    private readonly threshold = 0,
    private readonly maxLive = MAX_LIVE_BLOCKS,
  ) {
    this.codePages = new Uint8Array(Math.ceil(env.mem8.length / 4096));
    this.heat = threshold > 0 ? new Map() : null;
  }

  /**
   * The block starting at physical `phys` for the given default operand size (CS.D) and stack size
   * (SS.B), compiled once it is hot; null while it is not (the caller interprets the instruction there).
   * With `mayCompile` false only a block already compiled is returned, and nothing counts as an entry:
   * the caller is about to interpret up to a step limit that no block fits in, one instruction at a
   * time, and a block compiled at each of those instructions would hardly ever run again.
   */
  lookup(phys: number, def32: boolean, stack32: boolean, mayCompile = true): CompiledBlock | null {
    const key = keyOf(phys, def32, stack32);
    const slot = (phys ^ (phys >>> 14)) & (SLOTS - 1);
    if (this.slotKeys[slot] === key) return this.slotBlocks[slot] as CompiledBlock;
    const page = phys >>> 12;
    let blocks = this.pages.get(page);
    let block = blocks?.get(key);
    if (block === undefined) {
      if (!mayCompile) return null;
      if (this.heat !== null) {
        let heat = this.heat.get(page);
        if (heat === undefined) {
          heat = new Uint16Array(4096);
          this.heat.set(page, heat);
        }
        const h = phys & 0xfff;
        if (heat[h] < this.threshold) {
          heat[h]++;
          return null;
        }
      }
      if (this.live >= this.maxLive) {
        this.clear();
        this.flushes++;
        blocks = undefined;
      }
      block = compileBlock(this.env.mem8, phys, def32, stack32, this.env);
      this.compiled++;
      this.live++;
      if (blocks === undefined) {
        blocks = new Map();
        this.pages.set(page, blocks);
      }
      blocks.set(key, block);
      if (this.codePages[page] === 0) {
        this.codePages[page] = 1;
        this.onNewCodePage(page);
      }
    }
    this.slotKeys[slot] = key;
    this.slotBlocks[slot] = block;
    return block;
  }

  /** Whether a write of `size` bytes at physical `phys` would overwrite any compiled block. */
  overlaps(phys: number, size: number): boolean {
    const blocks = this.pages.get(phys >>> 12);
    if (blocks === undefined) return false;
    const end = phys + size;
    for (const b of blocks.values()) if (b.physStart < end && phys < b.physEnd) return true;
    return false;
  }

  /** A write of `size` bytes at physical `phys` on a code page: drops every block it overlaps. */
  onWrite(phys: number, size: number): void {
    const page = phys >>> 12;
    const blocks = this.pages.get(page);
    if (blocks === undefined) {
      this.codePages[page] = 0;
      return;
    }
    const end = phys + size;
    for (const [key, b] of blocks) {
      if (b.physStart < end && phys < b.physEnd) {
        blocks.delete(key);
        this.live--;
        b.dead = true;
        this.dropSlot(key, b);
        this.invalidated++;
      }
    }
    if (blocks.size === 0) {
      this.pages.delete(page);
      this.codePages[page] = 0;
    }
  }

  private dropSlot(key: number, b: CompiledBlock): void {
    const slot = (b.physStart ^ (b.physStart >>> 14)) & (SLOTS - 1);
    if (this.slotKeys[slot] === key) {
      this.slotKeys[slot] = -1;
      this.slotBlocks[slot] = null;
    }
  }

  /** Forgets every block (e.g. after memory is restored from a snapshot). */
  clear(): void {
    this.slotKeys.fill(-1);
    this.slotBlocks.fill(null);
    for (const blocks of this.pages.values()) for (const b of blocks.values()) b.dead = true;
    this.live = 0;
    this.pages.clear();
    this.codePages.fill(0);
    this.heat?.clear();
  }
}
