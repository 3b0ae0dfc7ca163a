/**
 * The x87, MMX and SSE registers: the state FXSAVE and XSAVE manage, held apart from the integer
 * registers so the x87 unit (x87/), the vector unit (sse/), the save/restore instructions and the
 * keyframes all read one copy.
 *
 * x87 registers are kept by PHYSICAL number (R0-R7), as the hardware and FXSAVE's tag byte see them;
 * ST(i) is physical register (top + i) & 7. Each holds an 80-bit extended value as a 64-bit
 * significand (two 32-bit halves, explicit integer bit included) and a 16-bit sign/exponent word.
 * MMX register MMi is the significand of physical register Ri (an MMX write also sets its
 * sign/exponent word to 0xFFFF, TOP to 0 and every tag to valid; EMMS empties the tags).
 *
 * Power-on values are FNINIT's / the reset values of the SDM's table 9-1: FCW 0x037F (everything
 * masked, 64-bit precision, round to nearest), FSW 0, all tags empty, MXCSR 0x1F80, XCR0 1.
 */
import { plainArray } from "../machine/plain-array.js";

/** Tag word value of one empty register; the full word of all-empty registers is 0xFFFF. */
export const TAG_EMPTY = 3;
export const FCW_POWER_ON = 0x037f;
export const MXCSR_POWER_ON = 0x1f80;

/** The JSON-able form stored in keyframes (see cpu-state.ts). */
export interface FpuStateData {
  /** 8 physical registers x [significand low, significand high, sign/exponent]. */
  st: number[];
  fcw: number;
  /** FSW without TOP (bits 11-13 clear); TOP is `top`. */
  fsw: number;
  top: number;
  /** Full tag word, 2 bits per physical register (0 valid, 1 zero, 2 special, 3 empty). */
  ftw: number;
  fip: number;
  fcs: number;
  fdp: number;
  fds: number;
  fop: number;
  /** 8 XMM registers x 4 little-endian dwords. */
  xmm: number[];
  mxcsr: number;
  xcr0: number;
}

/**
 * The 2-bit tag the full tag word (FNSTENV, FNSAVE) gives a non-empty register from its contents:
 * 0 valid (a normal: exponent 1-0x7FFE with the integer bit set), 1 zero, 2 special (NaN, infinity,
 * denormal, pseudo-denormal or an unsupported encoding such as an unnormal).
 */
export function tagOf(mantLo: number, mantHi: number, signExp: number): number {
  const exp = signExp & 0x7fff;
  if (exp === 0) return (mantLo | mantHi) === 0 ? 1 : 2;
  if (exp === 0x7fff || mantHi >>> 31 === 0) return 2;
  return 0;
}

/** The full tag word of a saved state: empty registers as recorded, the others classified by tagOf. */
export function fullTagWord(d: FpuStateData): number {
  let word = 0;
  for (let p = 0; p < 8; p++) {
    const tag = ((d.ftw >> (2 * p)) & 3) === TAG_EMPTY ? TAG_EMPTY : tagOf(d.st[3 * p], d.st[3 * p + 1], d.st[3 * p + 2]);
    word |= tag << (2 * p);
  }
  return word;
}

export class FpuState {
  /** Significand halves of R0-R7: [2i] bits 0-31, [2i+1] bits 32-63 (bit 63 the explicit integer bit). */
  readonly mant = new Uint32Array(16);
  /** Sign (bit 15) and biased exponent (bits 0-14) of R0-R7. */
  readonly signExp = new Uint16Array(8);
  /** Control word. */
  fcw = FCW_POWER_ON;
  /** Status word except TOP (kept in `top`). */
  fsw = 0;
  /** Top of stack, 0-7. */
  top = 0;
  /** Tag word, 2 bits per physical register. */
  ftw = 0xffff;
  /** Last x87 instruction's EIP and CS, its data operand's offset and segment selector, and opcode (11 bits). */
  fip = 0;
  fcs = 0;
  fdp = 0;
  fds = 0;
  fop = 0;

  /** XMM0-XMM7 as 32 dwords, XMMi at [4i .. 4i+3], dword 0 the least significant. */
  readonly xmm = new Uint32Array(32);
  /** Byte and float views of the same XMM storage, for the vector unit's lanes. */
  readonly xmm8 = new Uint8Array(this.xmm.buffer);
  readonly xmmF32 = new Float32Array(this.xmm.buffer);
  readonly xmmF64 = new Float64Array(this.xmm.buffer);
  mxcsr = MXCSR_POWER_ON;
  /** XCR0: which state components XSAVE manages; bit 0 (x87) is always set. */
  xcr0 = 1;

  /** FSW with TOP in bits 11-13, as FNSTSW reports it. */
  statusWord(): number {
    return (this.fsw & ~0x3800) | (this.top << 11);
  }

  /** Loads an FSW image (FLDENV, FRSTOR, FXRSTOR): TOP goes to `top`. */
  setStatusWord(v: number): void {
    this.top = (v >> 11) & 7;
    this.fsw = v & 0xffff & ~0x3800;
  }

  /** The state at power-on and after RESET/INIT. */
  reset(): void {
    this.resetX87();
    this.xmm.fill(0);
    this.mxcsr = MXCSR_POWER_ON;
    this.xcr0 = 1;
  }

  /**
   * The x87 part at power-on, which is also XSAVE's initial configuration of the x87 component:
   * FNINIT's control registers, and zero registers and pointers (FNINIT itself leaves contents).
   */
  resetX87(): void {
    this.mant.fill(0);
    this.signExp.fill(0);
    this.fcw = FCW_POWER_ON;
    this.fsw = 0;
    this.top = 0;
    this.ftw = 0xffff;
    this.fip = this.fcs = this.fdp = this.fds = this.fop = 0;
  }

  save(): FpuStateData {
    const st: number[] = [];
    for (let i = 0; i < 8; i++) st.push(this.mant[2 * i], this.mant[2 * i + 1], this.signExp[i]);
    return {
      st,
      fcw: this.fcw,
      fsw: this.fsw,
      top: this.top,
      ftw: this.ftw,
      fip: this.fip,
      fcs: this.fcs,
      fdp: this.fdp,
      fds: this.fds,
      fop: this.fop,
      xmm: plainArray(this.xmm),
      mxcsr: this.mxcsr,
      xcr0: this.xcr0,
    };
  }

  /** Restores a saved state; `undefined` (a keyframe from before the FPU existed) means power-on values. */
  load(d: FpuStateData | undefined): void {
    if (d === undefined) {
      this.reset();
      return;
    }
    for (let i = 0; i < 8; i++) {
      this.mant[2 * i] = d.st[3 * i];
      this.mant[2 * i + 1] = d.st[3 * i + 1];
      this.signExp[i] = d.st[3 * i + 2];
    }
    this.fcw = d.fcw;
    this.fsw = d.fsw;
    this.top = d.top;
    this.ftw = d.ftw;
    this.fip = d.fip;
    this.fcs = d.fcs;
    this.fdp = d.fdp;
    this.fds = d.fds;
    this.fop = d.fop;
    this.xmm.set(d.xmm);
    this.mxcsr = d.mxcsr;
    this.xcr0 = d.xcr0;
  }
}
