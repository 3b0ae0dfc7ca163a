/**
 * The PC: RAM, the CPU, the port bus and the devices, the multiboot loader, and the run loop that
 * interleaves CPU steps with device time. Everything is deterministic: time is the count of retired
 * steps plus the ticks that HLT skips, so two runs of one image are identical step for step.
 */
import { CPU, CpuStop } from "../cpu/cpu.js";
import { CS, DS, ES, FS, GS, IF, SS, ATTR_CODE, ATTR_DB, ATTR_G, ATTR_PRESENT, ATTR_RW, ATTR_S, CR0_ET, CR0_PE } from "../cpu/constants.js";
import { StepKind } from "../cpu/observer.js";
import { PhysicalMemory } from "./memory.js";
import { PortBus } from "./port-bus.js";
import { PicPair } from "./pic.js";
import { Pit } from "./pit.js";
import { APIC_DEFAULT_BASE, APIC_MMIO_SIZE, APIC_VERSION, LocalApic } from "./apic.js";
import { COM1_BASE, COM1_IRQ, Uart } from "./uart.js";
import { Cmos } from "./cmos.js";
import { DebugPorts } from "./debug-ports.js";
import { FpuErrorLatch, FPU_ERROR_IRQ } from "./fpu-error.js";
import { findMultibootHeader, loadMultiboot } from "./multiboot.js";
import { findMultiboot2Header, loadMultiboot2 } from "./multiboot2.js";
import { findRsdp } from "./rsdp-scan.js";
import { BOOT_CS, BOOT_DS, isLinuxBzImage, loadLinux } from "./linux-boot.js";
import { LoadError } from "./boot-modules.js";
import type { BootModule } from "./boot-modules.js";
import { IOAPIC_BASE, IOAPIC_ID, IOAPIC_MMIO_SIZE, IoApic } from "./ioapic.js";
import { PciHost } from "./pci-host.js";
import { i440fxHostBridge, piix3Ide, piix3IsaBridge, piix4PowerManagement } from "./pci-chipset.js";
import { ACPI_DISABLE, ACPI_ENABLE, APM_CONTROL_PORT, GPE0_BASE, PM_BASE, Piix4Pm, SCI_IRQ } from "./piix4-pm.js";
import { installFirmware } from "./firmware/install.js";
import { firmwareFits } from "./firmware/layout.js";
import { COM1_PORT } from "./firmware/bios-data-area.js";
import { cpuid } from "../cpu/cpuid.js";
import { EAX, EDX, ESI } from "../cpu/constants.js";
import { IdeChannel, PRIMARY_IDE, SECONDARY_IDE } from "./ide-channel.js";
import type { DiskImage } from "./disk-image.js";
import { Vga } from "./vga.js";
import { I8042 } from "./i8042.js";
import { loadCpuState, saveCpuState, type CpuState } from "../cpu/cpu-state.js";
import { InputDevice, type InputFeed } from "./input-feed.js";

export interface MachineOptions {
  /** RAM size in MiB (default 128). */
  memoryMiB?: number;
  /** Kernel command line passed in the multiboot information, exactly as the kernel sees it. */
  cmdline?: string;
  /** Multiboot modules, in order (placed after the kernel). */
  modules?: readonly BootModule[];
  /** Compile hot code into JS functions (default true); false interprets every instruction. */
  compile?: boolean;
  /** Entries into code before it is compiled (default 0: on first use); see BlockCache. */
  compileThreshold?: number;
  /** Most compiled blocks kept at once (see BlockCache; for tests of the cache emptying itself). */
  maxCompiledBlocks?: number;
  /**
   * IDE disks by QEMU's drive index: 0 primary master, 1 primary slave, 2 secondary master, 3
   * secondary slave (missing or null: no drive there).
   */
  disks?: (DiskImage | null | undefined)[];
  /**
   * Write the firmware's tables (BIOS data area, MP and ACPI tables) into RAM at power-on (default
   * true). A replay passes false: its RAM comes from the trace alone (a page the trace never stored
   * was zero when it was recorded, whatever a new machine's firmware puts there today), so it starts
   * from RAM as the host hands it out, all zeros.
   */
  firmwareTables?: boolean;
}

/**
 * "code-stop": the CPU is about to execute an instruction at one of its code stops (CPU.control). "power-off": the
 * guest switched the machine off through ACPI (PM1a control, SLP_TYP soft-off + SLP_EN).
 * "input-wait": the input feed asked the run to return because the guest waits for input the feed
 * does not have yet (the caller waits for it and runs on; nothing was skipped).
 */
export type StopReason = "exit" | "halt" | "power-off" | "triple-fault" | "reset" | "max-steps" | "interrupted" | "code-stop" | "input-wait";

export interface RunResult {
  reason: StopReason;
  /** For "exit": the isa-debug-exit status, (value << 1) | 1 as QEMU reports it. */
  exitStatus?: number;
  steps: number;
  /** A one-line explanation (the triple fault's cause, the halted EIP...). */
  detail: string;
}

export interface RunOptions {
  /** Stop once this many steps have been retired in total. */
  maxSteps?: number;
  /** Called now and then with the step count (progress reports); returning false stops the run. */
  onProgress?: (steps: number) => boolean | void;
}

/** Everything about a machine except its RAM, as plain JSON-able data. */
export interface MachineState {
  cpu: CpuState;
  idleTicks: number;
  exitStatus: number | null;
  /** Why the guest powered off, once it has (absent in traces from before power-off existed). */
  powerOff?: string | null;
  /** Whether the A20 gate is open (absent in traces made before it was modelled: open). */
  a20?: boolean;
  devices: {
    pic: unknown; pit: unknown; apic: unknown; uart: unknown; cmos: unknown; debugPorts: unknown;
    /** Absent in traces recorded before these devices existed: they keep their power-on state. */
    ioapic?: unknown; pci?: unknown; pm?: unknown; vga?: unknown; i8042?: unknown;
    /** Absent in keyframes recorded before the IDE channels existed (they then start at power-on). */
    ide?: unknown[];
  };
}

export const DEFAULT_MEMORY_MIB = 128;
/** The slave 8259A's ELCR as SeaBIOS leaves it under QEMU: IRQ 10 and 11 level-triggered. */
const PCI_LEVEL_IRQS_ELCR2 = 0x0c;
/** How many steps run between progress callbacks (and checks for an outside stop request). */
const PROGRESS_INTERVAL = 10_000_000;

export class Machine {
  readonly mem: PhysicalMemory;
  readonly cpu: CPU;
  readonly ports = new PortBus();
  readonly pic: PicPair;
  readonly pit: Pit;
  readonly apic: LocalApic;
  readonly uart: Uart;
  readonly cmos: Cmos;
  readonly debugPorts: DebugPorts;
  readonly ioapic: IoApic;
  readonly pci: PciHost;
  readonly pm: Piix4Pm;
  /** The primary (IRQ 14) and secondary (IRQ 15) IDE channels. */
  readonly ide: [IdeChannel, IdeChannel];
  /** The disks by drive index 0-3 (null where there is none). */
  readonly disks: (DiskImage | null)[];
  readonly vga: Vga;
  /** The 8042 keyboard controller; `keyboard.pressKey(...)` types on its PS/2 keyboard. */
  readonly keyboard: I8042;
  /** Ticks skipped by HLT: virtual time is steps + idleTicks. */
  idleTicks = 0;
  /** Bytes the guest writes to COM1. */
  onSerial: (byte: number) => void = () => {};
  /** Bytes the guest writes to the 0xe9 debug console. */
  onDebugConsole: (byte: number) => void = () => {};
  /** Where input from outside comes from (null: none; see input-feed.ts). */
  inputFeed: InputFeed | null = null;
  /** Called with every input delivered, at the step it entered (the recorder logs them). */
  onInput: ((step: number, device: InputDevice, bytes: Uint8Array) => void) | null = null;
  /** The isa-debug-exit status once the guest has written it. */
  exitStatus: number | null = null;
  /** Set when the guest powers the machine off: what it did. */
  powerOff: string | null = null;
  private stopRequested = false;
  private inputWaitRequested = false;
  /** The step limit of the CPU run in progress (see timerRearmed); 0 outside one. */
  private sliceEnd = 0;
  /** Who asked for a reset (named in the run's stop detail), or null. */
  private resetSource: string | null = null;
  /** The A20 line: open at multiboot entry, as QEMU leaves it. */
  private a20 = true;
  /** The 8042 as firmware leaves it, for keyframes that predate it. */
  private readonly keyboardAtPowerOn: unknown;

  constructor(options: MachineOptions = {}) {
    const mib = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    this.mem = new PhysicalMemory(mib * 1024 * 1024);
    this.cpu = new CPU(this.mem, this.ports, { compile: options.compile, compileThreshold: options.compileThreshold, maxCompiledBlocks: options.maxCompiledBlocks });
    const now = () => this.now();
    const update = () => this.updateInterruptLine();
    this.pic = new PicPair(update);
    this.pit = new Pit(now, (level) => this.setIsaIrq(0, level));
    this.apic = new LocalApic(now, update);
    this.ioapic = new IoApic(this.apic);
    this.apic.onLevelEoi = (vector) => this.ioapic.endOfInterrupt(vector);
    this.uart = new Uart((b) => this.onSerial(b), (level) => this.setIsaIrq(COM1_IRQ, level), COM1_BASE, now);
    this.cmos = new Cmos(this.mem.size, now);
    this.debugPorts = new DebugPorts({
      onByte: (b) => this.onDebugConsole(b),
      onExit: (status) => this.requestExit(status),
      onReset: () => this.requestReset("port 0x92"),
      onA20: (enabled) => this.setA20(enabled),
    });
    this.vga = new Vga();
    this.keyboard = new I8042({
      setIrq: (line, level) => this.setIsaIrq(line, level),
      setA20: (enabled) => this.setA20(enabled),
      onReset: () => this.requestReset("the 8042 keyboard controller"),
    });
    const pmFunction = piix4PowerManagement();
    this.pci = new PciHost([i440fxHostBridge(), piix3IsaBridge(), piix3Ide(), pmFunction], () => this.requestReset("port 0xcf9"));
    this.pm = new Piix4Pm(pmFunction, {
      now,
      setSci: (level) => this.setIsaIrq(SCI_IRQ, level),
      powerOff: (detail) => this.requestPowerOff(detail),
    });
    this.disks = [0, 1, 2, 3].map((i) => options.disks?.[i] ?? null);
    // IDENTIFY serial numbers follow the drive index ("QM00001" for index 0), as QEMU numbers its
    // IDE units whether or not a drive is attached.
    const serials = [1, 2, 3, 4];
    this.ide = [
      new IdeChannel(PRIMARY_IDE, [this.disks[0], this.disks[1]], [serials[0], serials[1]], (level) => this.setIsaIrq(PRIMARY_IDE.irq, level)),
      new IdeChannel(SECONDARY_IDE, [this.disks[2], this.disks[3]], [serials[2], serials[3]], (level) => this.setIsaIrq(SECONDARY_IDE.irq, level)),
    ];
    this.pic.registerOn(this.ports);
    for (const ch of this.ide) ch.registerOn(this.ports);
    this.pit.registerOn(this.ports);
    this.uart.registerOn(this.ports);
    this.cmos.registerOn(this.ports);
    this.debugPorts.registerOn(this.ports);
    this.pci.registerOn(this.ports);
    this.pm.registerOn(this.ports);
    this.vga.registerOn(this.ports);
    this.keyboard.registerOn(this.ports);
    const fpuError = new FpuErrorLatch((level) => this.setIsaIrq(FPU_ERROR_IRQ, level));
    fpuError.registerOn(this.ports);
    this.cpu.fpuError = (asserted) => {
      if (asserted) fpuError.assert();
    };
    this.keyboardAtPowerOn = this.keyboard.saveState();
    // The local APIC first: MMIO regions are searched in order and it is the busiest.
    this.mem.mapMmio(APIC_DEFAULT_BASE, APIC_MMIO_SIZE, this.apic);
    this.mem.mapMmio(IOAPIC_BASE, IOAPIC_MMIO_SIZE, this.ioapic);
    this.apic.connectLint0(this.pic);
    // The state PC firmware leaves behind (as SeaBIOS does before QEMU's multiboot loader runs).
    this.pic.firmwareInit();
    // SeaBIOS routes the PCI interrupt links to IRQ 10 and 11 and makes them level-triggered (ELCR).
    this.ports.write(0x4d1, 1, PCI_LEVEL_IRQS_ELCR2);
    this.pit.firmwareInit();
    this.apic.firmwareInit();
    for (const ch of this.ide) ch.firmwareInit();
    this.vga.firmwareInit();
    const rearmed = () => this.timerRearmed();
    for (const device of [this.pit, this.apic, this.pm, this.uart]) device.onRearm = rearmed;
    this.cpu.interrupts = this.apic;
    this.cpu.clock = now;
    this.cpu.apicBase = this.apic.readBaseMsr() | 0;
    this.cpu.onApicBaseWrite = (v) => {
      this.apic.writeBaseMsr(v);
      this.cpu.apicBase = this.apic.readBaseMsr() | 0;
    };
    if (options.firmwareTables !== false && firmwareFits(this.mem.size)) this.installFirmwareTables();
    this.updateInterruptLine();
  }

  /** Writes the BIOS data area, MP and ACPI tables that describe this machine into RAM. */
  private installFirmwareTables(): void {
    // The MP table's processor entry carries CPUID leaf 1, so ask the CPU (leaving its registers as they were).
    const regs = this.cpu.regs;
    const saved = Int32Array.from(regs);
    regs[EAX] = 1;
    cpuid(this.cpu);
    const signature = regs[EAX] >>> 0;
    const features = regs[EDX] >>> 0;
    regs.set(saved);
    installFirmware(this.mem.u8, {
      cpuSignature: signature,
      cpuFeatures: features,
      localApicAddress: APIC_DEFAULT_BASE,
      localApicVersion: APIC_VERSION & 0xff,
      ioApicId: IOAPIC_ID,
      ioApicAddress: IOAPIC_BASE,
      serialPorts: [COM1_PORT],
      pciInterrupts: this.pci.functions
        .filter((f) => f.config[0x3d] !== 0)
        .map((f) => ({ device: f.device, pin: f.config[0x3d], irq: f.config[0x3c] })),
      pmBase: PM_BASE,
      gpe0Base: GPE0_BASE,
      sciIrq: SCI_IRQ,
      smiCommandPort: APM_CONTROL_PORT,
      acpiEnable: ACPI_ENABLE,
      acpiDisable: ACPI_DISABLE,
    });
  }

  /**
   * Drives ISA interrupt line `line` (0-15) to `level`, as the PC's wiring does: into the 8259A pair,
   * and into the I/O APIC (IRQ 0 on pin 2, every other line on the pin of its number).
   */
  setIsaIrq(line: number, level: boolean): void {
    this.pic.setIrq(line, level);
    this.ioapic.setPin(line === 0 ? 2 : line, level);
  }

  /** A machine with `kernel` (a multiboot image or a Linux bzImage) loaded and the CPU at its entry point. */
  static fromElf(kernel: Uint8Array, options: MachineOptions = {}): Machine {
    const m = new Machine(options);
    m.loadKernel(kernel, { cmdline: options.cmdline, modules: options.modules });
    return m;
  }

  /**
   * Loads a multiboot kernel and puts the CPU in the state the multiboot specification defines. A
   * multiboot (v1) header wins when the image has both, as under QEMU's -kernel; an image with only a
   * multiboot2 header is loaded as GRUB's multiboot2 command would.
   */
  loadKernel(kernel: Uint8Array, inputs: { cmdline?: string; modules?: readonly BootModule[] } = {}): void {
    if (isLinuxBzImage(kernel)) {
      this.loadLinuxKernel(kernel, inputs);
      return;
    }
    const ram = this.mem.u8;
    const v2 = findMultibootHeader(kernel).offset < 0 && findMultiboot2Header(kernel).offset >= 0;
    // Seam with the firmware tables: the multiboot2 ACPI tags copy the RSDP found in RAM (EBDA, then
    // 0xE0000-0xFFFFF) as a BIOS boot loader finds it, so the tables must be written before this runs
    // (in the constructor); with none in RAM, findRsdp gives null and no ACPI tag is given.
    const boot = v2
      ? loadMultiboot2(kernel, ram, { cmdline: inputs.cmdline ?? "", modules: inputs.modules, rsdp: findRsdp(ram) })
      : loadMultiboot(kernel, ram, { cmdline: inputs.cmdline ?? "", modules: inputs.modules });
    const cpu = this.cpu;
    cpu.cr0 = CR0_PE | CR0_ET;
    cpu.gdtBase = boot.gdtBase;
    cpu.gdtLimit = boot.gdtLimit;
    const flat = ATTR_PRESENT | ATTR_S | ATTR_RW | ATTR_DB | ATTR_G | 1;
    cpu.setSegmentCache(CS, 0x08, 0, -1, flat | ATTR_CODE);
    for (const s of [DS, ES, SS, FS, GS]) cpu.setSegmentCache(s, 0x10, 0, -1, flat);
    cpu.setCpl(0);
    cpu.setEflags(0x2);
    cpu.eip = boot.entry;
    cpu.regs.fill(0);
    cpu.regs[0] = boot.magic;
    cpu.regs[3] = boot.infoAddress;
  }

  /**
   * Loads a Linux bzImage through the 32-bit boot protocol (linux-boot.ts): the command line is the
   * kernel's own (no kernel path in front), and the one module, if any, is the initrd. The CPU starts
   * at code32_start with the protocol's flat __BOOT_CS/__BOOT_DS segments and ESI = the zero page.
   */
  private loadLinuxKernel(kernel: Uint8Array, inputs: { cmdline?: string; modules?: readonly BootModule[] }): void {
    const modules = inputs.modules ?? [];
    if (modules.length > 1) {
      throw new LoadError(`a Linux kernel takes one initrd, not ${modules.length} (concatenate cpio archives into one file)`, { subject: modules[1].file });
    }
    if (modules.length === 1 && modules[0].string !== modules[0].file) {
      throw new LoadError(`an initrd takes no arguments ('${modules[0].string}')`, { subject: modules[0].file });
    }
    const boot = loadLinux(kernel, this.mem.u8, {
      cmdline: inputs.cmdline ?? "",
      initrd: modules.length === 1 ? { file: modules[0].file, data: modules[0].data } : undefined,
    });
    const cpu = this.cpu;
    cpu.cr0 = CR0_PE | CR0_ET;
    cpu.gdtBase = boot.gdtBase;
    cpu.gdtLimit = boot.gdtLimit;
    const flat = ATTR_PRESENT | ATTR_S | ATTR_RW | ATTR_DB | ATTR_G | 1;
    cpu.setSegmentCache(CS, BOOT_CS, 0, -1, flat | ATTR_CODE);
    for (const s of [DS, ES, SS, FS, GS]) cpu.setSegmentCache(s, BOOT_DS, 0, -1, flat);
    cpu.setCpl(0);
    cpu.setEflags(0x2);
    cpu.eip = boot.entry;
    cpu.regs.fill(0);
    cpu.regs[ESI] = boot.zeroPage;
  }

  /** Saves CPU and device state (RAM is the caller's: it is large and usually stored as deltas). */
  saveState(): MachineState {
    return {
      cpu: saveCpuState(this.cpu),
      idleTicks: this.idleTicks,
      exitStatus: this.exitStatus,
      powerOff: this.powerOff,
      a20: this.a20,
      devices: {
        pic: this.pic.saveState(),
        pit: this.pit.saveState(),
        apic: this.apic.saveState(),
        uart: this.uart.saveState(),
        cmos: this.cmos.saveState(),
        debugPorts: this.debugPorts.saveState(),
        ioapic: this.ioapic.saveState(),
        pci: this.pci.saveState(),
        pm: this.pm.saveState(),
        ide: this.ide.map((ch) => ch.saveState()),
        vga: this.vga.saveState(),
        i8042: this.keyboard.saveState(),
      },
    };
  }

  /**
   * Restores a state saved by saveState(). RAM must already hold the contents that go with it (write
   * it through `mem.u8` first); compiled code is dropped because memory may have changed under it.
   */
  loadState(state: MachineState): void {
    this.cpu.blocks?.clear();
    this.idleTicks = state.idleTicks;
    this.exitStatus = state.exitStatus;
    this.powerOff = state.powerOff ?? null;
    this.resetSource = null;
    this.pic.loadState(state.devices.pic);
    this.pit.loadState(state.devices.pit);
    this.apic.loadState(state.devices.apic);
    this.uart.loadState(state.devices.uart);
    this.cmos.loadState(state.devices.cmos);
    this.debugPorts.loadState(state.devices.debugPorts);
    if (state.devices.ioapic !== undefined) this.ioapic.loadState(state.devices.ioapic);
    if (state.devices.pci !== undefined) this.pci.loadState(state.devices.pci);
    if (state.devices.pm !== undefined) this.pm.loadState(state.devices.pm);
    const ide = state.devices.ide;
    this.ide.forEach((ch, i) => (ide === undefined ? ch.firmwareInit() : ch.loadState(ide[i])));
    if (state.devices.vga !== undefined) this.vga.loadState(state.devices.vga);
    else this.vga.firmwareInit();
    this.keyboard.loadState(state.devices.i8042 ?? this.keyboardAtPowerOn);
    this.a20 = state.a20 ?? true;
    this.cpu.mmu.setA20(this.a20);
    loadCpuState(this.cpu, state.cpu);
    this.cpu.stopReason = CpuStop.None;
    this.updateInterruptLine();
  }

  /** Virtual time in ticks (1 ns each). */
  now(): number {
    return this.cpu.steps + this.idleTicks;
  }

  /**
   * Delivers input from outside at the current step boundary: bytes on COM1's receive line, or one key
   * event's scan codes to the keyboard. Only input feeds call this (from `poll`), so every input
   * enters at a step the run loop stops at and a recording can note it.
   */
  deliverInput(device: InputDevice, bytes: Uint8Array): void {
    if (device === InputDevice.Com1) {
      for (const b of bytes) this.uart.receive(b);
    } else {
      this.keyboard.pressKey(Array.from(bytes));
    }
    this.onInput?.(this.cpu.steps, device, bytes);
  }

  /**
   * Whether `device` would take input now without losing it and the guest listens to it (see
   * Uart.readyToReceive and I8042.readyForKey): what live input feeds wait for.
   */
  readyForInput(device: InputDevice): boolean {
    if (device === InputDevice.Com1) return this.uart.readyToReceive(this.isaIrqReachesCpu(COM1_IRQ, COM1_IRQ));
    return this.keyboard.readyForKey(this.isaIrqReachesCpu(1, 1));
  }

  /** Asks the running `run()` to return "input-wait" (called by an input feed from `poll`). */
  requestInputWait(): void {
    this.inputWaitRequested = true;
  }

  /**
   * Sets the CMOS clock's start (a whole second, UTC). It stays virtual: it moves with retired steps
   * only, and the start is part of the keyframes' machine state.
   */
  setRtcStart(date: Date): void {
    this.cmos.setStart(date);
  }

  /** Asks a running `run()` to return at the next instruction boundary (e.g. on Ctrl-C). */
  requestStop(): void {
    this.stopRequested = true;
    this.cpu.stopReason = CpuStop.Requested;
  }

  /** Whether the A20 gate is open (physical address bit 20 passes through). */
  a20Enabled(): boolean {
    return this.a20;
  }

  /**
   * Drives the A20 line (from port 0x92 or the 8042's output port). While it is closed, physical
   * address bit 20 reads as 0 (the MMU masks it when it translates, and drops its cached translations
   * on every change), so nothing costs more while it is open.
   */
  setA20(enabled: boolean): void {
    if (enabled === this.a20) return;
    this.a20 = enabled;
    this.cpu.mmu.setA20(enabled);
  }

  private requestReset(source: string): void {
    if (this.resetSource === null) this.resetSource = source;
    this.cpu.stopReason = CpuStop.Requested;
  }

  private requestPowerOff(detail: string): void {
    if (this.powerOff === null) this.powerOff = detail;
    this.cpu.stopReason = CpuStop.Requested;
  }

  private requestExit(status: number): void {
    if (this.exitStatus === null) this.exitStatus = status;
    this.cpu.stopReason = CpuStop.Requested;
  }

  private updateInterruptLine(): void {
    this.cpu.irqPending = this.apic.hasInterrupt();
  }

  /**
   * The instruction running now armed or re-armed a device timer. run() let the CPU go as far as the
   * next device event it knew of; if the new event falls due sooner, the CPU stops at the next
   * instruction boundary and run() plans again, so the interrupt lands on the step it is due whatever
   * the slices a run was cut into (a recording's keyframes, a replay started from one of them).
   */
  private timerRearmed(): void {
    const cpu = this.cpu;
    if (cpu.steps < this.sliceEnd && this.nextEventTick() - this.now() < this.sliceEnd - cpu.steps) cpu.requestReplan();
  }

  private nextEventTick(): number {
    return Math.min(this.pit.nextEventTick(), this.apic.nextEventTick(), this.pm.nextEventTick(), this.uart.nextEventTick());
  }

  /**
   * The next device event that could wake a halted CPU: the APIC timer (Infinity while masked), the
   * PIT only when IRQ 0 can reach the CPU (through the PIC and LINT0, or I/O APIC pin 2), and the PM
   * timer's SCI on IRQ 9 likewise. A halted guest cannot change masks, so this is exact.
   */
  private nextWakeTick(): number {
    let t = this.apic.nextEventTick();
    if (this.isaIrqReachesCpu(0, 2)) t = Math.min(t, this.pit.nextEventTick());
    if (this.isaIrqReachesCpu(SCI_IRQ, SCI_IRQ)) t = Math.min(t, this.pm.nextEventTick());
    // The UART's FIFO timeout (armed only while received bytes wait) can raise IRQ 4.
    if (this.isaIrqReachesCpu(COM1_IRQ, COM1_IRQ)) t = Math.min(t, this.uart.nextEventTick());
    return t;
  }

  private isaIrqReachesCpu(line: number, ioApicPin: number): boolean {
    if (this.pic.isLineEnabled(line) && this.apic.acceptsPicInterrupts()) return true;
    return this.ioapic.isPinUnmasked(ioApicPin) && this.apic.softwareEnabled;
  }

  private advanceDevices(): void {
    const now = this.now();
    this.pit.advanceTo(now);
    this.apic.advanceTo(now);
    this.pm.advanceTo(now);
    this.uart.advanceTo(now);
  }

  /** Why the machine stopped, if it has: exit, triple fault, or a halt nothing can end. */
  private finished(): RunResult | null {
    const cpu = this.cpu;
    if (this.exitStatus !== null) return { reason: "exit", exitStatus: this.exitStatus, steps: cpu.steps, detail: `guest wrote to isa-debug-exit (status ${this.exitStatus})` };
    if (this.powerOff !== null) return { reason: "power-off", steps: cpu.steps, detail: this.powerOff };
    if (this.resetSource !== null) return { reason: "reset", steps: cpu.steps, detail: `guest asked for a reset through ${this.resetSource}` };
    if (cpu.stopReason === CpuStop.TripleFault) return { reason: "triple-fault", steps: cpu.steps, detail: cpu.tripleFaultReason };
    if (cpu.halted && !(cpu.irqPending && (cpu.flags & IF) !== 0)) {
      if ((cpu.flags & IF) === 0) return { reason: "halt", steps: cpu.steps, detail: `hlt with interrupts disabled at 0x${(cpu.instrEip >>> 0).toString(16)}` };
      if (this.nextWakeTick() === Infinity) return { reason: "halt", steps: cpu.steps, detail: `hlt at 0x${(cpu.instrEip >>> 0).toString(16)} with interrupts enabled but no unmasked timer armed` };
    }
    return null;
  }

  /** If halted with interrupts on, skips virtual time to the next device event. */
  private skipIdleTime(): void {
    const cpu = this.cpu;
    if (!cpu.halted || (cpu.flags & IF) === 0 || cpu.irqPending) return;
    const next = this.nextWakeTick();
    if (next === Infinity) return;
    const now = this.now();
    if (next > now) this.idleTicks += next - now;
    this.advanceDevices();
  }

  /** Runs until the guest exits, halts for good, triple-faults, or `maxSteps` steps have retired. */
  run(options: RunOptions = {}): RunResult {
    const cpu = this.cpu;
    const limit = options.maxSteps ?? Infinity;
    this.stopRequested = false;
    let nextProgress = cpu.steps + PROGRESS_INTERVAL;
    for (;;) {
      // Input enters here, at a boundary, never past the limit: a keyframe taken at the limit holds
      // the state before the inputs of its step, and a replay from it delivers them next.
      const feed = this.inputFeed;
      if (feed !== null && cpu.steps < limit && (cpu.steps >= feed.nextStep || cpu.halted)) {
        feed.poll(this);
        if (this.inputWaitRequested) {
          this.inputWaitRequested = false;
          return { reason: "input-wait", steps: cpu.steps, detail: "waiting for input" };
        }
      }
      const done = this.finished();
      if (done !== null) return done;
      if (this.stopRequested) return { reason: "interrupted", steps: cpu.steps, detail: "stopped on request" };
      if (cpu.steps >= limit) return { reason: "max-steps", steps: cpu.steps, detail: `step limit ${limit} reached` };
      if (cpu.steps >= nextProgress) {
        nextProgress = cpu.steps + PROGRESS_INTERVAL;
        if (options.onProgress && options.onProgress(cpu.steps) === false) {
          return { reason: "interrupted", steps: cpu.steps, detail: "stopped on request" };
        }
      }
      if (cpu.halted) {
        this.skipIdleTime();
        if (cpu.halted && !(cpu.irqPending && (cpu.flags & IF) !== 0)) continue;
      }
      // Run until the next device event, the step limit or the next progress report.
      const next = this.nextEventTick();
      let target = Math.min(limit, nextProgress);
      if (next !== Infinity) target = Math.min(target, cpu.steps + Math.max(1, next - this.now()));
      if (feed !== null) target = Math.min(target, feed.nextStep);
      this.sliceEnd = target;
      cpu.run(target);
      this.sliceEnd = 0;
      this.advanceDevices();
      if (cpu.stopReason === CpuStop.CodeStop) return { reason: "code-stop", steps: cpu.steps, detail: `about to execute 0x${(cpu.eip >>> 0).toString(16)}` };
    }
  }

  /** Executes exactly one step (an instruction, or an interrupt/exception delivery). */
  step(): StepKind {
    // Halted: skip device events (a masked PIT tick changes nothing) until an interrupt can wake the CPU.
    const cpu = this.cpu;
    const feed = this.inputFeed;
    if (feed !== null && (cpu.steps >= feed.nextStep || cpu.halted)) {
      feed.poll(this);
      this.inputWaitRequested = false;
    }
    while (cpu.halted && (cpu.flags & IF) !== 0 && !cpu.irqPending && this.nextWakeTick() !== Infinity) this.skipIdleTime();
    const kind = cpu.step();
    this.advanceDevices();
    return kind;
  }
}
