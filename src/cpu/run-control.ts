/**
 * What a debugger asks of a run beyond "run N steps": stop before certain instructions (a breakpoint
 * search) or watch a register for changes (a register search). The CPU's run loop consults it before
 * each step it takes and before letting a compiled block run; the trace's searches (src/trace/trace.ts)
 * set it up and clear it. With nothing asked (the normal case) it costs the run loop two null checks.
 */
import type { CPU } from "./cpu.js";
import type { CompiledBlock } from "./jit/compile-block.js";

/** A register being watched: see src/trace/register-search.ts. */
export interface RegisterWatch {
  /** Called before each step the run loop takes by itself (not inside compiled blocks it lets run). */
  observe(cpu: CPU): void;
  /** Whether the compiled block (for code of that default size) may write the watched register. */
  mayWrite(block: CompiledBlock, def32: boolean): boolean;
}

export class RunControl {
  /**
   * EIPs before which run() stops (CpuStop.CodeStop), as a debugger's breakpoints would: checked only
   * where an instruction is about to execute (an interrupt due at that boundary is delivered first, as
   * hardware ranks it above a code breakpoint), and at every iteration of a repeated string
   * instruction.
   */
  codeStops: Int32Array | null = null;
  /** The step whose code stop is not taken: the one a search resumes from after reporting it. */
  codeStopSkipStep = -1;
  /** A register watched for changes; blocks that may write it are interpreted. */
  registerWatch: RegisterWatch | null = null;

  /** Whether anything is asked: then the run loop takes string-instruction iterations one at a time. */
  get active(): boolean {
    return this.codeStops !== null || this.registerWatch !== null;
  }

  /** Whether the instruction at `eip`, about to run as step `step`, is a code stop. */
  stopsBefore(step: number, eip: number): boolean {
    const stops = this.codeStops;
    return stops !== null && step !== this.codeStopSkipStep && stops.includes(eip);
  }

  /**
   * Whether compiled `block`, starting at `eip`, may run as a whole: not when a code stop lies inside
   * it or it may write the watched register (it is then interpreted an instruction at a time).
   */
  allowsBlock(block: CompiledBlock, eip: number, def32: boolean): boolean {
    const stops = this.codeStops;
    if (stops !== null && holdsStop(stops, eip, block.physEnd - block.physStart)) return false;
    const watch = this.registerWatch;
    return watch === null || !watch.mayWrite(block, def32);
  }

  /** Stops before the instructions at `eips` until clearCodeStops(). */
  setCodeStops(eips: Int32Array): void {
    this.codeStops = eips;
    this.codeStopSkipStep = -1;
  }

  /** Resumes past the code stop the run just stopped at (step `step`). */
  skipCodeStopAt(step: number): void {
    this.codeStopSkipStep = step;
  }

  clearCodeStops(): void {
    this.codeStops = null;
    this.codeStopSkipStep = -1;
  }
}

/**
 * Whether a code stop lies in a block starting at `eip` whose compiled instructions span `length`
 * bytes (its last instruction may be an interpreted one starting at eip + length).
 */
function holdsStop(stops: Int32Array, eip: number, length: number): boolean {
  for (let i = 0; i < stops.length; i++) {
    const d = (stops[i] - eip) >>> 0;
    if (d <= length) return true;
  }
  return false;
}
