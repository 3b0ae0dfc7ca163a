/**
 * ACPI resource descriptors (ACPI 6.4, 6.4 "Resource Data Types for ACPI"): the byte streams that
 * _CRS and _PRS buffers hold, for the descriptor kinds ttd's DSDT uses. `resourceTemplate` wraps
 * them in an AML Buffer with the End Tag, as ASL's ResourceTemplate() does.
 */
import { buffer, type Aml } from "./aml.js";

const u16 = (v: number): Aml => [v & 0xff, (v >>> 8) & 0xff];
const u32 = (v: number): Aml => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** I/O port descriptor (small item 0x08), 16-bit decode: `length` ports at `base`. */
export function ioPorts(base: number, length: number, alignment = 1): Aml {
  return [0x47, 0x01, ...u16(base), ...u16(base), alignment, length];
}

/** IRQ descriptor without flags (small item 0x04, 2 bytes): edge-triggered, active high, exclusive. */
export function isaIrq(...irqs: number[]): Aml {
  const mask = irqs.reduce((m, i) => m | (1 << i), 0);
  return [0x22, ...u16(mask)];
}

/**
 * Extended interrupt descriptor (large item 0x09) for a consumer: level-triggered, active-high and
 * shared, the form PCI interrupt links report.
 */
export function sharedLevelInterrupt(...irqs: number[]): Aml {
  const CONSUMER = 0x01, SHARED = 0x08; // level (bit 1 clear), active high (bit 2 clear)
  const body = [CONSUMER | SHARED, irqs.length, ...irqs.flatMap(u32)];
  return [0x89, ...u16(body.length), ...body];
}

/** Offset of the first interrupt number in sharedLevelInterrupt's bytes (for CreateDWordField). */
export const SHARED_INTERRUPT_FIRST_IRQ = 5;

const enum AddressSpace {
  Memory = 0,
  Io = 1,
  BusNumber = 2,
}

/** General flags of an address space descriptor: a producer (a bridge) with fixed minimum and maximum. */
const PRODUCER_FIXED = 0x0c;
/** I/O type-specific flags: the window passes both ISA and non-ISA ranges ("EntireRange"). */
const IO_ENTIRE_RANGE = 0x03;
/** Memory type-specific flags: read-write, cacheable or not. */
const MEMORY_RW = 0x01;
const MEMORY_CACHEABLE = 0x02;

function wordAddressSpace(type: AddressSpace, typeFlags: number, min: number, max: number): Aml {
  const body = [type, PRODUCER_FIXED, typeFlags, ...u16(0), ...u16(min), ...u16(max), ...u16(0), ...u16(max - min + 1)];
  return [0x88, ...u16(body.length), ...body];
}

/** WordBusNumber: a bridge's bus number range. */
export const busNumbers = (min: number, max: number): Aml => wordAddressSpace(AddressSpace.BusNumber, 0, min, max);

/** WordIO: an I/O window a bridge forwards. */
export const ioWindow = (min: number, max: number): Aml => wordAddressSpace(AddressSpace.Io, IO_ENTIRE_RANGE, min, max);

/** DWordMemory: a memory window a bridge forwards. */
export function memoryWindow(min: number, max: number, cacheable: boolean): Aml {
  const flags = MEMORY_RW | (cacheable ? MEMORY_CACHEABLE : 0);
  const body = [AddressSpace.Memory, PRODUCER_FIXED, flags, ...u32(0), ...u32(min), ...u32(max), ...u32(0), ...u32(((max - min) >>> 0) + 1)];
  return [0x87, ...u16(body.length), ...body];
}

/** ResourceTemplate() { descriptors } : a Buffer ending with the End Tag (checksum 0: not computed). */
export function resourceTemplate(...descriptors: Aml[]): Aml {
  return buffer([...descriptors.flat(), 0x79, 0x00]);
}
