/**
 * The i386 processor: architectural state, instruction fetch, ModRM decoding, segmented memory
 * access, the stack, and the run loop with precise fault handling. Instructions are described and
 * dispatched by the table in instructions/ (execute.ts runs one), with the family files beside it;
 * protected-mode control transfers in interrupts.ts and far-transfer.ts; descriptor loading in segments.ts.
 */
import type { PhysicalMemory } from "../machine/memory.js";
import type { AccessSize, InterruptSource } from "../machine/bus.js";
import { Mmu } from "./mmu.js";
import { ModelSpecificRegisters } from "./msrs.js";
import { FpuState } from "./fpu-state.js";
import { BLOCK_EXIT, CPU_FAULT, TripleFault } from "./fault.js";
import { BlockCache } from "./jit/block-cache.js";
import { MAX_INSTRUCTIONS, type CompiledBlock } from "./jit/compile-block.js";
import { ATTR_CODE, ATTR_DB, ATTR_DC, ATTR_G, ATTR_PRESENT, ATTR_RW, ATTR_S, ARITH_FLAGS, CF, CR0_ET, CS, DS, ESP, FLAGS_FIXED_ONE, GP, IF, OF, PF, SF, SS, SS_FAULT, ZF, AF, DE, UD, TF, DB } from "./constants.js";
import { computeAF, computeCF, computeOF, conditionOf, materializeFlags, PARITY, SIZE_MASK, SIZE_SIGN } from "./flags.js";
import { StepKind, type CpuObserver } from "./observer.js";
import { execute } from "./execute.js";
import { deliverEvent, EventSource } from "./interrupts.js";
import { escalate } from "./exceptions.js";
import { Descriptor } from "./segments.js";
import { RunControl } from "./run-control.js";
import { AddressParts, decodeAddress, offsetOf } from "./instructions/modrm.js";

/** How the CPU reaches I/O ports. */
export interface PortIo {
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

/** Why the run loop returned control to the machine. */
export const enum CpuStop {
  None = 0,
  /** `hlt` executed; the machine decides whether time skips ahead or the run ends. */
  Halt = 1,
  /** A device (e.g. isa-debug-exit) or the machine asked to stop. */
  Requested = 2,
  /** A fault while delivering a double fault. */
  TripleFault = 3,
  /** The next instruction's EIP is one of the run control's code stops (a debugger's breakpoint search). */
  CodeStop = 4,
  /**
   * A device timer was armed to fall due before the step limit the machine planned: the machine plans
   * the rest of its run again from this instruction boundary (see requestReplan).
   */
  Replan = 5,
}

export class CPU {
  // ---- General registers -----------------------------------------------------------------------
  readonly regs = new Int32Array(8);
  /** Byte view of `regs`: AL is byte 0, AH byte 1, CL byte 4, ... */
  readonly regs8 = new Uint8Array(this.regs.buffer);
  /** Word view of `regs`: AX is word 0, CX word 2, ... */
  readonly regs16 = new Uint16Array(this.regs.buffer);
  eip = 0;

  // ---- Flags (lazy arithmetic flags: see flags.ts) ---------------------------------------------
  flags = FLAGS_FIXED_ONE;
  lazy = 0;
  lfOp = 0;
  lfA = 0;
  lfB = 0;
  lfRes = 0;
  lfSize = 2;

  // ---- Segments: selector and hidden descriptor cache ------------------------------------------
  readonly segSel = new Int32Array(6);
  readonly segBase = new Int32Array(6);
  /** Effective limit (byte granular, after G scaling), as an unsigned value stored in an int32. */
  readonly segLimit = new Int32Array(6);
  readonly segAttr = new Int32Array(6);
  /** 1 when the segment is usable for reads with no per-access check (flat, readable, non-null). */
  readonly segFastRead = new Uint8Array(6);
  /** 1 when the segment is usable for writes with no per-access check (flat, writable, non-null). */
  readonly segFastWrite = new Uint8Array(6);
  cpl = 0;
  /** CS.D: default operand and address size 32. */
  codeDefault32 = true;
  /** SS.B: the stack pointer is ESP (else SP). */
  stack32 = true;

  // ---- System registers ------------------------------------------------------------------------
  cr0 = CR0_ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0x3ff;
  ldtSel = 0;
  ldtBase = 0;
  ldtLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trAttr = 0;
  readonly dr = new Int32Array(8);
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /** PAT, MTRRs, MISC_ENABLE, PLATFORM_ID, BIOS_SIGN_ID (msrs.ts). */
  readonly msrs = new ModelSpecificRegisters();
  /** The x87, MMX and SSE registers (fpu-state.ts). */
  readonly fpu = new FpuState();
  apicBase = 0xfee00900 | 0;
  /** Added to the virtual clock to give the TSC (a WRMSR to the TSC sets it). */
  tscOffset = 0;

  // ---- Per-instruction decode state ------------------------------------------------------------
  /** Operand size 32 for the current instruction. */
  o32 = true;
  /** Address size 32 for the current instruction. */
  a32 = true;
  /** Segment override prefix, or -1. */
  segOverride = -1;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  repPrefix = 0;
  /** An F0 (LOCK) prefix was present. */
  lock = false;
  modrm = 0;
  /** The parts of the last decoded memory operand's address (scratch for decodeModrm). */
  private readonly address = new AddressParts();
  /** Offset and segment of the memory operand decoded from the last ModRM. */
  eaOff = 0;
  eaSeg = DS;
  /** EIP and ESP at the start of the current instruction, restored when it faults. */
  instrEip = 0;
  instrEsp = 0;

  // ---- Run state -------------------------------------------------------------------------------
  /** Steps retired (instructions, plus interrupt/exception deliveries and faulting-instruction aborts). */
  steps = 0;
  /** The step count at which the current run() or step() must return; repeated string instructions respect it. */
  stepLimit = 0;
  halted = false;
  stopReason = CpuStop.None;
  /** Set by the machine when the interrupt controllers have something to deliver. */
  irqPending = false;
  /** Steps at which an STI or MOV SS shadow ends: no maskable interrupt before this step. */
  interruptShadowUntil = -1;
  /** Steps at which a MOV SS / POP SS shadow ends: no single-step trap before this step. */
  debugShadowUntil = -1;
  faultVector = 0;
  faultError = 0;
  /** The first opcode met that this CPU does not implement (raised #UD), for the run summary. */
  firstUnimplemented: string | null = null;
  tripleFaultReason = "";
  /** A debugger's breakpoint search or register watch for run() to honour (see run-control.ts). */
  readonly control = new RunControl();

  /**
   * Descriptors being checked by the instruction or delivery in progress, one per role so that code
   * holding a CS and an SS descriptor at once (IRET, RETF, interrupt delivery) keeps both. Filled by
   * readDescriptor (segments.ts); scratch, meaningful only within one instruction or delivery.
   */
  readonly descCode = new Descriptor();
  readonly descStack = new Descriptor();
  /** Data segment loads and the descriptor instructions (LLDT, LTR, VERR/VERW, LAR/LSL). */
  readonly descData = new Descriptor();

  // Code fetch cache: linear page of EIP and its physical page, valid while `fetchGen` matches the MMU.
  private fetchLinPage = -1;
  private fetchPhysPage = 0;
  private fetchGen = -1;

  readonly mmu: Mmu;
  readonly mem8: Uint8Array;
  private observerRef: CpuObserver | null = null;
  io: PortIo;
  interrupts: InterruptSource | null = null;
  /** Virtual time in ticks (1 ns), provided by the machine; used by RDTSC. */
  clock: () => number = () => this.steps;
  /**
   * The FERR# output (an unmasked x87 exception met by a waiting instruction while CR0.NE is clear):
   * the machine routes it to IRQ 13. Null when nothing is wired.
   */
  fpuError: ((asserted: boolean) => void) | null = null;
  /** Called when the guest writes IA32_APIC_BASE. */
  onApicBaseWrite: ((value: number) => void) | null = null;

  /** Compiled blocks, or null to interpret every instruction. */
  readonly blocks: BlockCache | null;
  /** Set when compiled code had to stop before an instruction: the next one is interpreted. */
  private interpretNext = false;

  /**
   * `compile: false` interprets every instruction; `compileThreshold` is how often code is entered
   * before it is compiled (default 0: on first use; see BlockCache).
   */
  constructor(mem: PhysicalMemory, io: PortIo, options: { compile?: boolean; compileThreshold?: number; maxCompiledBlocks?: number } = {}) {
    this.mmu = new Mmu(mem, this);
    this.mem8 = mem.u8;
    this.io = io;
    if (options.compile === false) {
      this.blocks = null;
    } else {
      const mmu = this.mmu;
      // A page that starts holding code must stop granting TLB write access, so drop cached entries.
      const env = { tlb: mmu.tlb, mem8: mem.u8, mem32: mem.i32, segBase: this.segBase, segFastRead: this.segFastRead, segFastWrite: this.segFastWrite };
      const blocks = new BlockCache(env, () => mmu.flush(false), options.compileThreshold ?? 0, options.maxCompiledBlocks);
      this.blocks = blocks;
      mmu.codePages = blocks.codePages;
      mmu.onCodeWrite = (phys, size) => blocks.onWrite(phys, size);
      mmu.overlapsCode = (phys, size) => blocks.overlaps(phys, size);
    }
    for (let s = 0; s < 6; s++) this.setSegmentCache(s, 0, 0, -1, ATTR_PRESENT | ATTR_S | ATTR_RW | ATTR_DB | ATTR_G | (s === CS ? ATTR_CODE : 0));
  }

  /** The attached observer (memory writes are reported through the MMU, which shares it). */
  get observer(): CpuObserver | null {
    return this.observerRef;
  }

  set observer(o: CpuObserver | null) {
    this.observerRef = o;
    this.mmu.observer = o;
  }

  // ---- Faults ------------------------------------------------------------------------------------

  /** Raises a guest exception from inside an instruction: unwinds to the run loop. */
  raiseFault(vector: number, errorCode: number): never {
    this.faultVector = vector;
    this.faultError = errorCode;
    throw CPU_FAULT;
  }

  gp(errorCode: number): never {
    return this.raiseFault(GP, errorCode);
  }

  /** #UD for an opcode this CPU does not implement; remembers the first one for the summary. */
  unimplemented(what: string): never {
    if (this.firstUnimplemented === null) this.firstUnimplemented = `${what} at 0x${(this.instrEip >>> 0).toString(16)}`;
    return this.raiseFault(UD, 0);
  }

  // ---- Run loop ----------------------------------------------------------------------------------

  /**
   * Runs until `steps` reaches `stepLimit`, the CPU halts, or a stop is requested. Interrupts are
   * checked at every instruction boundary; a fault unwinds here and becomes two steps: the aborted
   * instruction and the exception delivery.
   */
  run(stepLimit: number): void {
    this.stopReason = CpuStop.None;
    this.stepLimit = stepLimit;
    if (this.hasPendingException && this.steps < stepLimit) this.deliverPendingException();
    while (this.steps < stepLimit && this.stopReason === CpuStop.None) {
      try {
        this.runInner(stepLimit);
        return;
      } catch (e) {
        this.mmu.inBlock = false;
        if (e === CPU_FAULT) this.handleFaultOrTriple(stepLimit);
        else if (e === BLOCK_EXIT) {
          // Compiled code reached an MMIO write: restart that instruction in the interpreter.
          this.eip = this.instrEip;
          this.regs[ESP] = this.instrEsp;
          this.interpretNext = true;
        } else if (e instanceof TripleFault) this.tripleFault(e.reason);
        else throw e;
      }
    }
  }

  private runInner(stepLimit: number): void {
    const regs = this.regs;
    const blocks = this.blocks;
    // A fault unwinding through run() may have left a one-instruction limit behind (see below).
    this.stepLimit = stepLimit;
    // The compiled block that ran last, when this iteration follows it directly (see CompiledBlock.next).
    let last: CompiledBlock | null = null;
    while (this.steps < stepLimit) {
      const control = this.control;
      const watch = control.registerWatch;
      if (watch !== null) watch.observe(this);
      let single = this.interpretNext;
      if (this.irqPending && (this.flags & IF) !== 0) {
        if (this.steps >= this.interruptShadowUntil) {
          this.deliverExternalInterrupt();
          continue;
        }
        // Inside an STI/MOV SS shadow with an interrupt waiting: exactly one instruction, then deliver.
        single = true;
      }
      if (this.halted || this.stopReason !== CpuStop.None) return;
      if (control.codeStops !== null && control.stopsBefore(this.steps, this.eip)) {
        this.stopReason = CpuStop.CodeStop;
        return;
      }
      this.instrEip = this.eip;
      this.instrEsp = regs[ESP];
      const trap = (this.flags & TF) !== 0;
      if (blocks !== null && !single && !trap && this.segLimit[CS] === -1) {
        const lin = (this.segBase[CS] + this.eip) | 0;
        // The fetch's privilege too: a page a user-mode fetch may not run must fault there.
        const sizes = (this.codeDefault32 ? 2 : 0) | (this.stack32 ? 1 : 0) | (this.cpl === 3 ? 4 : 0);
        const gen = this.mmu.generation;
        let block: CompiledBlock | null = null;
        const chained: CompiledBlock | null = last !== null ? last.next : null;
        if (chained !== null && last!.nextLin === lin && last!.nextGen === gen && last!.nextSizes === sizes && !chained.dead) {
          block = chained;
        } else {
          const phys = this.codeAddress();
          if (phys >= 0) {
            block = blocks.lookup(phys, this.codeDefault32, this.stack32, this.steps + MAX_INSTRUCTIONS <= stepLimit);
            if (last !== null && block !== null) {
              last.next = block;
              last.nextLin = lin;
              last.nextGen = gen;
              last.nextSizes = sizes;
            }
          }
        }
        // A block runs its instructions (and its loops) without coming back here: one that holds a
        // code stop is interpreted instead, an instruction at a time, as is code not yet hot.
        if (
          block !== null &&
          this.steps + block.count <= stepLimit &&
          ((control.codeStops === null && watch === null) || control.allowsBlock(block, this.eip, this.codeDefault32))
        ) {
          this.mmu.inBlock = true;
          block.fn(this, regs, this.eip);
          this.mmu.inBlock = false;
          last = block;
          continue;
        }
      }
      last = null;
      this.interpretNext = false;
      this.eventDeliveredInStep = false;
      if (control.active) {
        // One iteration of a repeated string instruction at a time, so each is looked at.
        this.stepLimit = this.steps + 1;
        execute(this);
        this.stepLimit = stepLimit;
      } else {
        execute(this);
      }
      this.steps++;
      if (trap) this.singleStepTrap(stepLimit);
    }
  }

  /**
   * Returns from run() at the next instruction boundary with CpuStop.Replan (unless another stop is
   * already asked for). Called by the machine while an instruction runs; a repeated string instruction
   * ends its current iteration there too. The run loop already looks at `stopReason` before every
   * step it takes, so this costs nothing until it is called.
   */
  requestReplan(): void {
    if (this.stopReason === CpuStop.None) this.stopReason = CpuStop.Replan;
    if (this.stepLimit > this.steps + 1) this.stepLimit = this.steps + 1;
  }

  /** Set when the current instruction delivered an event itself (INT n, INT3, INTO, INT1): no single-step trap follows. */
  eventDeliveredInStep = false;

  /**
   * EFLAGS.TF was set when the instruction began: a #DB trap (DR6.BS) follows it as a step of its own,
   * returning to the next instruction. An instruction that delivered an event itself (INT n, INT1...)
   * has already cleared TF on delivery and takes no trap.
   */
  private singleStepTrap(stepLimit: number): void {
    // After MOV SS or POP SS the trap waits for the next instruction, which raises its own.
    if (this.eventDeliveredInStep || this.halted || this.steps < this.debugShadowUntil) return;
    this.dr[6] |= 1 << 14;
    if (this.steps >= stepLimit) {
      this.setPendingExceptionState([DB, 0]);
      return;
    }
    this.deliverWithEscalation(DB, 0, -1);
  }

  /** Executes exactly one step (an instruction, or an interrupt/exception delivery). */
  step(): StepKind {
    const before = this.steps;
    this.stepLimit = before + 1;
    if (this.hasPendingException) {
      this.deliverPendingException();
      return StepKind.Exception;
    }
    if (this.halted && !(this.irqPending && (this.flags & IF) !== 0)) return StepKind.Instruction;
    try {
      if (this.irqPending && (this.flags & IF) !== 0 && this.steps >= this.interruptShadowUntil) {
        this.deliverExternalInterrupt();
        return StepKind.Interrupt;
      }
      this.instrEip = this.eip;
      this.instrEsp = this.regs[ESP];
      const trap = (this.flags & TF) !== 0;
      this.eventDeliveredInStep = false;
      execute(this);
      this.steps++;
      if (trap) this.singleStepTrap(this.stepLimit);
      return StepKind.Instruction;
    } catch (e) {
      if (e === CPU_FAULT) {
        // The aborted instruction is this step; the delivery is the next one.
        this.handleFault(this.stepLimit);
        return StepKind.Fault;
      }
      if (e instanceof TripleFault) {
        this.tripleFault(e.reason);
        return StepKind.Fault;
      }
      throw e;
    }
  }

  private deliverExternalInterrupt(): void {
    const src = this.interrupts;
    if (src === null || !src.hasInterrupt()) {
      this.irqPending = src !== null && src.hasInterrupt();
      return;
    }
    this.halted = false;
    const vector = src.acknowledge();
    this.irqPending = src.hasInterrupt();
    this.instrEip = this.eip;
    this.instrEsp = this.regs[ESP];
    try {
      deliverEvent(this, vector, 0, EventSource.External, this.eip);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      // A fault while delivering an external interrupt is delivered as that fault (then double fault rules).
      this.deliverWithEscalation(this.faultVector, this.faultError, vector);
      return;
    }
    this.steps++;
  }

  /**
   * The current instruction faulted: its register effects are undone (EIP and ESP restored; every other
   * register is written only after the instruction's last possible fault), the abort is counted as a
   * step, then the exception is delivered as the next step, escalating to #DF or a triple fault.
   */
  private handleFault(stepLimitAfterAbort: number): void {
    const vector = this.faultVector, err = this.faultError;
    this.eip = this.instrEip;
    this.regs[ESP] = this.instrEsp;
    this.halted = false;
    if (this.observer !== null) this.observer.onEvent(StepKind.Fault, this.steps, vector, err, this.instrEip, this.cpl, this.cpl);
    this.steps++;
    if (this.steps >= stepLimitAfterAbort) {
      // The run ends here (single-stepping, or a limit that falls between abort and delivery): the
      // exception is delivered first thing in the next step or run.
      this.pendingVector = vector;
      this.pendingError = err;
      this.hasPendingException = true;
      return;
    }
    this.deliverWithEscalation(vector, err, -1);
  }

  /**
   * handleFault, with a fault during double-fault delivery turned into a clean triple-fault stop. When
   * the abort reaches the run's step limit the delivery stays pending, exactly as with step().
   */
  private handleFaultOrTriple(stepLimit: number): void {
    try {
      this.handleFault(stepLimit);
    } catch (e) {
      if (e instanceof TripleFault) this.tripleFault(e.reason);
      else throw e;
    }
  }

  /** An exception left pending by single-stepping a faulting instruction. */
  private hasPendingException = false;
  private pendingVector = 0;
  private pendingError = 0;

  /** Delivers an exception that a previous `step()` left pending. Returns true if there was one. */
  deliverPendingException(): boolean {
    if (!this.hasPendingException) return false;
    this.hasPendingException = false;
    try {
      this.deliverWithEscalation(this.pendingVector, this.pendingError, -1);
    } catch (e) {
      if (e instanceof TripleFault) this.tripleFault(e.reason);
      else throw e;
    }
    return true;
  }

  get exceptionPending(): boolean {
    return this.hasPendingException;
  }

  /** The exception a single step left pending, as [vector, error code], for snapshots. */
  pendingExceptionState(): [number, number] | null {
    return this.hasPendingException ? [this.pendingVector, this.pendingError] : null;
  }

  setPendingExceptionState(p: [number, number] | null): void {
    this.hasPendingException = p !== null;
    if (p !== null) [this.pendingVector, this.pendingError] = p;
  }

  /**
   * Delivers exception `vector`; a fault during delivery escalates per the SDM's double-fault table:
   * contributory after contributory, or contributory/#PF after #PF, gives #DF; a fault while
   * delivering #DF is a triple fault.
   */
  private deliverWithEscalation(vector: number, err: number, externalVector: number): void {
    let first = externalVector >= 0 ? -1 : vector;
    let v = vector, e = err;
    for (;;) {
      const eipBefore = this.eip;
      try {
        deliverEvent(this, v, e, externalVector >= 0 && v === externalVector ? EventSource.External : EventSource.Exception, eipBefore);
        this.steps++;
        return;
      } catch (x) {
        if (x !== CPU_FAULT) throw x;
        const second = this.faultVector;
        if (v === 8) throw new TripleFault(`fault #${second} while delivering a double fault`);
        v = first >= 0 ? escalate(first, second) : second;
        e = v === 8 ? 0 : this.faultError;
        first = v;
      }
    }
  }

  private tripleFault(reason: string): void {
    this.tripleFaultReason = reason;
    this.stopReason = CpuStop.TripleFault;
    this.steps++;
  }

  // ---- Instruction fetch -------------------------------------------------------------------------

  /** Physical address of the code byte at EIP (-1 for MMIO), through the fetch cache; may raise #PF. */
  codeAddress(): number {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if ((lin & ~0xfff) === this.fetchLinPage && this.fetchGen === this.mmu.generation) return this.fetchPhysPage | (lin & 0xfff);
    return this.fetchSlow(lin);
  }

  private fetchSlow(lin: number): number {
    if ((this.eip >>> 0) > (this.segLimit[CS] >>> 0)) this.gp(0);
    const phys = this.mmu.translate(lin, false, this.cpl === 3);
    // Cache only RAM pages of a flat CS (limit checks are then unnecessary within the page).
    if ((phys >>> 0) < this.mmu.memSize && this.segLimit[CS] === -1) {
      this.fetchLinPage = lin & ~0xfff;
      this.fetchPhysPage = phys & ~0xfff;
      this.fetchGen = this.mmu.generation;
    } else {
      this.fetchLinPage = -1;
    }
    if ((phys >>> 0) >= this.mmu.memSize) return -1;
    return phys;
  }

  /** Drops the fetch cache (CS or CPL changed). */
  invalidateFetch(): void {
    this.fetchLinPage = -1;
  }

  fetch8(): number {
    const p = this.codeAddress();
    this.eip = (this.eip + 1) | 0;
    return p >= 0 ? this.mem8[p] : 0xff;
  }

  /** The next code byte, without consuming it (a group opcode's ModRM.reg, a LOCK check). */
  peek8(): number {
    const p = this.codeAddress();
    return p >= 0 ? this.mem8[p] : 0xff;
  }

  fetchS8(): number {
    return (this.fetch8() << 24) >> 24;
  }

  fetch16(): number {
    const lo = this.fetch8();
    return lo | (this.fetch8() << 8);
  }

  fetch32(): number {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if ((lin & 0xfff) <= 0xffc && (lin & ~0xfff) === this.fetchLinPage && this.fetchGen === this.mmu.generation) {
      const p = this.fetchPhysPage | (lin & 0xfff);
      const m = this.mem8;
      this.eip = (this.eip + 4) | 0;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    const lo = this.fetch16();
    return lo | (this.fetch16() << 16);
  }

  /** An immediate of the current operand size (16 or 32). */
  fetchImm(): number {
    return this.o32 ? this.fetch32() : this.fetch16();
  }

  // ---- ModRM -------------------------------------------------------------------------------------

  /** Fetches a ModRM byte; for a memory operand also decodes its offset and segment (instructions/modrm.ts). */
  decodeModrm(): number {
    const m = this.fetch8();
    this.modrm = m;
    if (m < 0xc0) {
      const p = this.address;
      decodeAddress(this, m, this.a32, p);
      this.eaOff = offsetOf(p, this.regs, this.regs16);
      this.eaSeg = this.segOverride >= 0 ? this.segOverride : p.seg;
    }
    return m;
  }

  // Register operands by number.
  getReg8(r: number): number {
    return this.regs8[r < 4 ? r << 2 : ((r - 4) << 2) + 1];
  }

  setReg8(r: number, v: number): void {
    this.regs8[r < 4 ? r << 2 : ((r - 4) << 2) + 1] = v;
  }

  getReg16(r: number): number {
    return this.regs16[r << 1];
  }

  setReg16(r: number, v: number): void {
    this.regs16[r << 1] = v;
  }

  // The r/m operand of the last ModRM.
  readE8(): number {
    const m = this.modrm;
    return m >= 0xc0 ? this.getReg8(m & 7) : this.readMem8(this.eaSeg, this.eaOff);
  }

  readE16(): number {
    const m = this.modrm;
    return m >= 0xc0 ? this.regs16[(m & 7) << 1] : this.readMem16(this.eaSeg, this.eaOff);
  }

  readE32(): number {
    const m = this.modrm;
    return m >= 0xc0 ? this.regs[m & 7] : this.readMem32(this.eaSeg, this.eaOff);
  }

  /** Reads the r/m operand of a read-modify-write instruction: a memory operand is checked for writing first. */
  readE8W(): number {
    const m = this.modrm;
    if (m >= 0xc0) return this.getReg8(m & 7);
    this.prepareWrite(this.eaSeg, this.eaOff, 1);
    return this.readMem8(this.eaSeg, this.eaOff);
  }

  readE16W(): number {
    const m = this.modrm;
    if (m >= 0xc0) return this.regs16[(m & 7) << 1];
    this.prepareWrite(this.eaSeg, this.eaOff, 2);
    return this.readMem16(this.eaSeg, this.eaOff);
  }

  readE32W(): number {
    const m = this.modrm;
    if (m >= 0xc0) return this.regs[m & 7];
    this.prepareWrite(this.eaSeg, this.eaOff, 4);
    return this.readMem32(this.eaSeg, this.eaOff);
  }

  writeE8(v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) this.setReg8(m & 7, v);
    else this.writeMem8(this.eaSeg, this.eaOff, v);
  }

  writeE16(v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) this.regs16[(m & 7) << 1] = v;
    else this.writeMem16(this.eaSeg, this.eaOff, v);
  }

  writeE32(v: number): void {
    const m = this.modrm;
    if (m >= 0xc0) this.regs[m & 7] = v;
    else this.writeMem32(this.eaSeg, this.eaOff, v);
  }

  /** Operand-size dispatch for the r/m operand (16 or 32 bits). */
  readEv(): number {
    return this.o32 ? this.readE32() : this.readE16();
  }

  readEvW(): number {
    return this.o32 ? this.readE32W() : this.readE16W();
  }

  writeEv(v: number): void {
    if (this.o32) this.writeE32(v);
    else this.writeE16(v);
  }

  getRegV(r: number): number {
    return this.o32 ? this.regs[r] : this.regs16[r << 1];
  }

  setRegV(r: number, v: number): void {
    if (this.o32) this.regs[r] = v;
    else this.regs16[r << 1] = v;
  }

  // ---- Segmented memory access -------------------------------------------------------------------

  /** Checks an access that the segment's fast flags do not cover; raises #GP(0) or #SS(0). */
  checkSegment(seg: number, off: number, size: number, write: boolean): void {
    const attr = this.segAttr[seg];
    const fault = seg === SS ? SS_FAULT : GP;
    // A null data selector loaded in protected mode leaves a cache that is not present.
    if ((attr & ATTR_PRESENT) === 0) this.raiseFault(fault, 0);
    if (write) {
      if ((attr & ATTR_CODE) !== 0 || (attr & ATTR_RW) === 0) this.raiseFault(fault, 0);
    } else if ((attr & ATTR_CODE) !== 0 && (attr & ATTR_RW) === 0) {
      this.raiseFault(fault, 0);
    }
    const limit = this.segLimit[seg] >>> 0;
    const first = off >>> 0, last = (first + size - 1) >>> 0;
    if ((attr & (ATTR_CODE | ATTR_DC)) === ATTR_DC) {
      // Expand-down: valid offsets are (limit, 0xffff] or (limit, 0xffffffff].
      const upper = (attr & ATTR_DB) !== 0 ? 0xffffffff : 0xffff;
      if (first <= limit || last > upper || last < first) this.raiseFault(fault, 0);
    } else if (last > limit || last < first) {
      this.raiseFault(fault, 0);
    }
  }

  readMem8(seg: number, off: number): number {
    if (this.segFastRead[seg] === 0) this.checkSegment(seg, off, 1, false);
    return this.mmu.read8((this.segBase[seg] + off) | 0);
  }

  readMem16(seg: number, off: number): number {
    if (this.segFastRead[seg] === 0) this.checkSegment(seg, off, 2, false);
    return this.mmu.read16((this.segBase[seg] + off) | 0);
  }

  readMem32(seg: number, off: number): number {
    if (this.segFastRead[seg] === 0) this.checkSegment(seg, off, 4, false);
    return this.mmu.read32((this.segBase[seg] + off) | 0);
  }

  writeMem8(seg: number, off: number, v: number): void {
    if (this.segFastWrite[seg] === 0) this.checkSegment(seg, off, 1, true);
    this.mmu.write8((this.segBase[seg] + off) | 0, v);
  }

  writeMem16(seg: number, off: number, v: number): void {
    if (this.segFastWrite[seg] === 0) this.checkSegment(seg, off, 2, true);
    this.mmu.write16((this.segBase[seg] + off) | 0, v);
  }

  writeMem32(seg: number, off: number, v: number): void {
    if (this.segFastWrite[seg] === 0) this.checkSegment(seg, off, 4, true);
    this.mmu.write32((this.segBase[seg] + off) | 0, v);
  }

  /** Checks that a write of `size` bytes at seg:off would succeed (segment and paging), writing nothing. */
  prepareWrite(seg: number, off: number, size: number): void {
    if (this.segFastWrite[seg] === 0) this.checkSegment(seg, off, size, true);
    const lin = (this.segBase[seg] + off) | 0;
    const mmu = this.mmu;
    if ((mmu.tlb[lin >>> 12] & mmu.writeBit) === 0 || (lin & 0xfff) > 0x1000 - size) mmu.probeWrite(lin, size, mmu.user);
  }

  // ---- Stack -------------------------------------------------------------------------------------

  push32(v: number): void {
    const regs = this.regs;
    if (this.stack32) {
      const sp = (regs[ESP] - 4) | 0;
      this.writeMem32(SS, sp, v);
      regs[ESP] = sp;
    } else {
      const sp = (regs[ESP] - 4) & 0xffff;
      this.writeMem32(SS, sp, v);
      this.regs16[ESP << 1] = sp;
    }
  }

  push16(v: number): void {
    const regs = this.regs;
    if (this.stack32) {
      const sp = (regs[ESP] - 2) | 0;
      this.writeMem16(SS, sp, v);
      regs[ESP] = sp;
    } else {
      const sp = (regs[ESP] - 2) & 0xffff;
      this.writeMem16(SS, sp, v);
      this.regs16[ESP << 1] = sp;
    }
  }

  pushV(v: number): void {
    if (this.o32) this.push32(v);
    else this.push16(v);
  }

  pop32(): number {
    const regs = this.regs;
    if (this.stack32) {
      const sp = regs[ESP];
      const v = this.readMem32(SS, sp);
      regs[ESP] = (sp + 4) | 0;
      return v;
    }
    const sp = this.regs16[ESP << 1];
    const v = this.readMem32(SS, sp);
    this.regs16[ESP << 1] = sp + 4;
    return v;
  }

  pop16(): number {
    const regs = this.regs;
    if (this.stack32) {
      const sp = regs[ESP];
      const v = this.readMem16(SS, sp);
      regs[ESP] = (sp + 2) | 0;
      return v;
    }
    const sp = this.regs16[ESP << 1];
    const v = this.readMem16(SS, sp);
    this.regs16[ESP << 1] = sp + 2;
    return v;
  }

  popV(): number {
    return this.o32 ? this.pop32() : this.pop16();
  }

  /** Reads the stack at ESP + `delta` without moving ESP. */
  peekStack(delta: number, size: 2 | 4): number {
    const sp = this.stack32 ? (this.regs[ESP] + delta) | 0 : (this.regs16[ESP << 1] + delta) & 0xffff;
    return size === 4 ? this.readMem32(SS, sp) : this.readMem16(SS, sp);
  }

  /** Adds `delta` to the stack pointer (ESP or SP per SS.B). */
  adjustStack(delta: number): void {
    if (this.stack32) this.regs[ESP] = (this.regs[ESP] + delta) | 0;
    else this.regs16[ESP << 1] = this.regs16[ESP << 1] + delta;
  }

  // ---- Flags -------------------------------------------------------------------------------------

  getCF(): boolean {
    return (this.lazy & CF) !== 0 ? computeCF(this) : (this.flags & CF) !== 0;
  }

  getZF(): boolean {
    return (this.lazy & ZF) !== 0 ? (this.lfRes & SIZE_MASK[this.lfSize]) === 0 : (this.flags & ZF) !== 0;
  }

  getSF(): boolean {
    return (this.lazy & SF) !== 0 ? (this.lfRes & SIZE_SIGN[this.lfSize]) !== 0 : (this.flags & SF) !== 0;
  }

  getOF(): boolean {
    return (this.lazy & OF) !== 0 ? computeOF(this) : (this.flags & OF) !== 0;
  }

  getPF(): boolean {
    return (this.lazy & PF) !== 0 ? PARITY[this.lfRes & 0xff] === 1 : (this.flags & PF) !== 0;
  }

  getAF(): boolean {
    return (this.lazy & AF) !== 0 ? computeAF(this) : (this.flags & AF) !== 0;
  }

  /** Sets or clears one arithmetic flag eagerly. */
  setFlag(bit: number, on: boolean): void {
    if ((this.lazy & bit) !== 0) {
      // Other lazy flags still derive from the recorded operation; only this one becomes eager.
      this.lazy &= ~bit;
    }
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  /** Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc). */
  condition(cc: number): boolean {
    return conditionOf(cc, this.flags, this.lazy, this.lfOp, this.lfA, this.lfB, this.lfRes, this.lfSize);
  }

  /** The full EFLAGS value. */
  getEflags(): number {
    materializeFlags(this);
    return this.flags | FLAGS_FIXED_ONE;
  }

  /** Replaces EFLAGS (the caller has applied privilege rules). */
  setEflags(v: number): void {
    this.lazy = 0;
    this.flags = (v & 0x3f7fd5) | FLAGS_FIXED_ONE;
  }

  /** Records a flag-setting operation; see flags.ts. */
  setLazy(op: number, a: number, b: number, res: number, size: number, mask: number): void {
    this.lfOp = op;
    this.lfA = a;
    this.lfB = b;
    this.lfRes = res;
    this.lfSize = size;
    this.lazy = mask;
  }

  /** Makes CF eager (so an instruction that preserves CF, like INC, can overwrite the lazy state). */
  freezeCF(): void {
    if ((this.lazy & CF) !== 0) {
      this.flags = computeCF(this) ? this.flags | CF : this.flags & ~CF;
      this.lazy &= ~CF;
    }
  }

  /** Materializes every lazy flag (before an instruction that reads or writes several of them). */
  freezeFlags(): void {
    materializeFlags(this);
  }

  // ---- Segment cache -----------------------------------------------------------------------------

  /** Loads a segment register's selector and hidden cache (no checks: segments.ts does those). */
  setSegmentCache(seg: number, sel: number, base: number, limit: number, attr: number): void {
    this.segSel[seg] = sel & 0xffff;
    this.segBase[seg] = base;
    this.segLimit[seg] = limit;
    this.segAttr[seg] = attr;
    const usable = (attr & ATTR_PRESENT) !== 0 && (attr & ATTR_S) !== 0;
    const flat = usable && limit === -1 && (attr & (ATTR_CODE | ATTR_DC)) !== ATTR_DC;
    const readable = (attr & ATTR_CODE) === 0 || (attr & ATTR_RW) !== 0;
    const writable = (attr & ATTR_CODE) === 0 && (attr & ATTR_RW) !== 0;
    this.segFastRead[seg] = flat && readable ? 1 : 0;
    this.segFastWrite[seg] = flat && writable ? 1 : 0;
    if (seg === CS) {
      this.codeDefault32 = (attr & ATTR_DB) !== 0;
      this.invalidateFetch();
    } else if (seg === SS) {
      this.stack32 = (attr & ATTR_DB) !== 0;
    }
  }

  /** Marks a segment register null (a data segment register loaded with a null selector). */
  setSegmentNull(seg: number, sel: number): void {
    this.segSel[seg] = sel & 0xffff;
    this.segBase[seg] = 0;
    this.segLimit[seg] = 0;
    this.segAttr[seg] = 0;
    this.segFastRead[seg] = 0;
    this.segFastWrite[seg] = 0;
  }

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.mmu.setUser(cpl === 3);
    this.invalidateFetch();
  }

  // ---- Misc helpers used by several instruction families ------------------------------------------

  /** Raises #DE (divide error). */
  divideError(): never {
    return this.raiseFault(DE, 0);
  }

  /** ZF/SF/PF from a result, CF=OF=AF=0 (logic instructions). */
  setLogicFlags(res: number, size: number): void {
    this.lfRes = res;
    this.lfSize = size;
    this.lfOp = 4;
    this.lfA = 0;
    this.lfB = 0;
    this.lazy = ARITH_FLAGS;
  }
}

