/**
 * The PC's legacy x87 error wiring: the processor's FERR# output (an unmasked x87 exception met by a
 * waiting instruction while CR0.NE is clear) is latched by the chipset onto IRQ 13, and a write of any
 * value to port 0xF0 clears the latch (and, on the 287/387 era boards, released IGNNE#). The CPU reports
 * FERR# through its narrow `fpuError` hook; this device turns it into the interrupt line.
 */
import type { AccessSize, PortDevice } from "./bus.js";
import type { PortBus } from "./port-bus.js";

export const FPU_ERROR_IRQ = 13;
export const FPU_ERROR_CLEAR_PORT = 0xf0;

export class FpuErrorLatch implements PortDevice {
  constructor(private readonly setIrq: (level: boolean) => void) {}

  registerOn(bus: PortBus): void {
    bus.register(FPU_ERROR_CLEAR_PORT, 1, this);
  }

  /** FERR# asserted by the CPU. */
  assert(): void {
    this.setIrq(true);
  }

  portRead(_port: number, _size: AccessSize): number {
    return 0xff;
  }

  portWrite(_port: number, _size: AccessSize, _value: number): void {
    this.setIrq(false);
  }
}
