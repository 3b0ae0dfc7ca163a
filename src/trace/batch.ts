/**
 * What the recorder hands to the trace writer: plain typed arrays (transferable to a worker thread
 * without copying) covering the steps since the previous batch, up to `upTo`. Batches come about
 * every keyframe, so neither side holds much at once; the writer stores each as it comes, inside one
 * open transaction, and commits when a batch says so. A trace killed mid-recording is valid up to the
 * `upTo` of its last committed batch.
 */

/** A keyframe: machine state (JSON of Machine.saveState()) and the RAM pages dirtied since the previous one. */
export interface KeyframeData {
  step: number;
  state: string;
  /** Physical page numbers. */
  pages: Int32Array;
  /** Their contents, 4096 bytes each, in the order of `pages`. */
  data: Uint8Array;
  /** Per disk, the sectors written since the previous keyframe and their contents at this one. */
  disks: KeyframeDiskSectors[];
}

/** Sectors of one disk's copy-on-write overlay, 512 bytes each in the order of `sectors`. */
export interface KeyframeDiskSectors {
  drive: number;
  sectors: Float64Array;
  data: Uint8Array;
}

/** A disk the run had, stored whole at creation so the trace replays without the image file. */
export interface TraceDisk {
  /** Drive index 0-3. */
  drive: number;
  name: string;
  sha256: string;
  /** Whether the run wrote the guest's writes back to the image file (snapshot=off). */
  writeBack: boolean;
  data: Uint8Array;
}

export interface Batch {
  seq: number;
  /** Ends the transaction: everything up to `upTo` is then in the file (always on a chunk boundary). */
  commit: boolean;
  /** Every write, event, output byte and port access of a step below `upTo` is in this or an earlier batch. */
  upTo: number;
  /** Memory writes observed since the start of the recording. */
  writes: number;
  /** Write-index groups: chunk, n, then n pairs (line, dword mask). Repeated (line, chunk) pairs OR their masks. */
  index: Int32Array;
  /** Port-index groups of four: port, chunk, reads, writes (added to any existing row). */
  ports: Int32Array;
  /** Events, eight numbers each: step, kind, vector, error code (-1: none), eip, cpl before, cpl after, handler eip. */
  events: Float64Array;
  /** Guest output, three numbers per byte: step, stream, byte. */
  serial: Float64Array;
  /** Inputs from outside, each: step, device, n, then its n bytes (one number each). */
  inputs: Float64Array;
  keyframes: KeyframeData[];
}

export const EVENT_FIELDS = 8;
export const SERIAL_FIELDS = 3;
export const PORT_FIELDS = 4;

/** The buffers to transfer (not copy) when posting `b` to a worker. */
export function batchTransferList(b: Batch): ArrayBuffer[] {
  const list = [b.index.buffer, b.ports.buffer, b.events.buffer, b.serial.buffer, b.inputs.buffer];
  for (const k of b.keyframes) {
    list.push(k.pages.buffer, k.data.buffer);
    for (const d of k.disks) list.push(d.sectors.buffer, d.data.buffer);
  }
  return list as ArrayBuffer[];
}

/** Rough size of a batch in memory, for the recorder's back-pressure. */
export function batchBytes(b: Batch): number {
  let n = b.index.byteLength + b.ports.byteLength + b.events.byteLength + b.serial.byteLength + b.inputs.byteLength;
  for (const k of b.keyframes) {
    n += k.data.byteLength + k.pages.byteLength + k.state.length;
    for (const d of k.disks) n += d.data.byteLength + d.sectors.byteLength;
  }
  return n;
}

/** How a recording ended, as stored in meta at finalization. */
export interface TraceEnd {
  reason: string;
  detail: string;
  exitStatus: number | null;
  steps: number;
}

/** What the writer needs to create a trace. */
export interface TraceInit {
  path: string;
  /** Meta rows written at creation. */
  meta: Record<string, string>;
  image: { name: string; sha256: string; data: Uint8Array };
  /** The run's disks (none: a version 1 trace). */
  disks: TraceDisk[];
  /** Whether input from outside may enter the run (a version 3 trace, with the `input` table filled). */
  inputs: boolean;
}
