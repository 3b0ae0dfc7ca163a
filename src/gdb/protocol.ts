/**
 * GDB remote serial protocol framing: `$payload#cs` packets with a modulo-256 checksum, `+`/`-`
 * acknowledgements, and the out-of-band interrupt byte 0x03. Pure functions and a byte-fed decoder,
 * with no sockets, so framing can be tested on its own.
 *
 * Payload bytes are handled as latin1 strings (one char per byte): every command and reply we deal in
 * is ASCII apart from binary data, and latin1 keeps byte values intact both ways.
 */

/** Largest payload accepted from a client (advertised as PacketSize in qSupported). */
export const DEFAULT_MAX_PACKET = 16384;

/** Sum of the payload bytes modulo 256. */
export function checksum(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) sum = (sum + (payload.charCodeAt(i) & 0xff)) & 0xff;
  return sum;
}

/**
 * Escapes the bytes the framing reserves (`$`, `#`, `}` and `*`, which starts a run-length
 * encoding) as `}` followed by the byte xor 0x20, so any reply text can be framed safely.
 */
export function escapePayload(payload: string): string {
  if (!/[$#}*]/.test(payload)) return payload;
  let out = "";
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i];
    out += c === "$" || c === "#" || c === "}" || c === "*" ? "}" + String.fromCharCode(c.charCodeAt(0) ^ 0x20) : c;
  }
  return out;
}

/** Frames a payload: `$` + escaped payload + `#` + two hex digits of checksum. */
export function framePacket(payload: string): string {
  const body = escapePayload(payload);
  return `$${body}#${checksum(body).toString(16).padStart(2, "0")}`;
}

/** Lowercase hex of bytes, two digits each. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Hex of a text's UTF-8 bytes, as `qRcmd` output carries text. */
export function textToHex(text: string): string {
  return toHex(Buffer.from(text, "utf8"));
}

/** Bytes of a hex string, or null when it is not an even-length run of hex digits. */
export function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A 32-bit value as 8 hex digits in target (little-endian) byte order, as `g` and `p` carry registers. */
export function le32Hex(value: number): string {
  const v = value >>> 0;
  let s = "";
  for (let i = 0; i < 4; i++) s += ((v >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  return s;
}

/** Parses an unsigned hex number of at most 8 digits (addresses, lengths), or null. */
export function parseHex32(text: string): number | null {
  if (!/^[0-9a-fA-F]{1,8}$/.test(text)) return null;
  return parseInt(text, 16) >>> 0;
}

export type DecoderEvent =
  /** A complete packet whose checksum matched (the payload as sent: binary data is still escaped). */
  | { type: "packet"; payload: string }
  /** A complete packet whose checksum did not match, or whose checksum digits were not hex. */
  | { type: "bad-checksum"; expected: string; actual: number }
  /** A packet longer than the limit: its bytes were dropped up to the end of its frame. */
  | { type: "oversized"; length: number }
  | { type: "ack" }
  | { type: "nack" }
  /** The out-of-band interrupt (Ctrl-C in gdb). */
  | { type: "interrupt" }
  /** Bytes outside any packet that mean nothing (skipped; reported once per run of them). */
  | { type: "garbage"; bytes: number };

const enum State {
  Idle,
  Body,
  Check1,
  Check2,
}

/**
 * Turns the bytes of a connection into events. It never buffers more than `maxPacket` payload bytes:
 * an oversized packet is counted and dropped, and reported once its `#cc` arrives, so a client that
 * streams without end cannot exhaust memory.
 */
export class PacketDecoder {
  private state = State.Idle;
  private body: number[] = [];
  private length = 0;
  private sum = 0;
  private check = "";
  private garbage = 0;

  constructor(private readonly maxPacket = DEFAULT_MAX_PACKET) {}

  /** Feeds bytes; returns the events they complete, in order. */
  feed(data: Uint8Array): DecoderEvent[] {
    const events: DecoderEvent[] = [];
    for (const b of data) {
      switch (this.state) {
        case State.Idle:
          if (b === 0x24 /* $ */) {
            this.flushGarbage(events);
            this.state = State.Body;
            this.body = [];
            this.length = 0;
            this.sum = 0;
          } else if (b === 0x2b /* + */) {
            this.flushGarbage(events);
            events.push({ type: "ack" });
          } else if (b === 0x2d /* - */) {
            this.flushGarbage(events);
            events.push({ type: "nack" });
          } else if (b === 0x03) {
            this.flushGarbage(events);
            events.push({ type: "interrupt" });
          } else {
            this.garbage++;
          }
          break;
        case State.Body:
          // An escaped byte is never `#` or `$` (escaping xors them with 0x20), so these always frame.
          if (b === 0x23 /* # */) {
            this.state = State.Check1;
            this.check = "";
          } else if (b === 0x24 /* $ */) {
            // A new packet start inside a body: the previous frame was cut off. Count it as garbage
            // and start over, as a serial line would after a lost `#cc`.
            this.garbage += this.length + 1;
            this.flushGarbage(events);
            this.body = [];
            this.length = 0;
            this.sum = 0;
          } else {
            this.sum = (this.sum + b) & 0xff;
            if (this.length < this.maxPacket) this.body.push(b);
            this.length++;
          }
          break;
        case State.Check1:
          this.check = String.fromCharCode(b);
          this.state = State.Check2;
          break;
        case State.Check2: {
          this.check += String.fromCharCode(b);
          this.state = State.Idle;
          if (this.length > this.maxPacket) {
            events.push({ type: "oversized", length: this.length });
          } else if (!/^[0-9a-fA-F]{2}$/.test(this.check) || parseInt(this.check, 16) !== this.sum) {
            events.push({ type: "bad-checksum", expected: this.check, actual: this.sum });
          } else {
            const raw = Buffer.from(this.body).toString("latin1");
            events.push({ type: "packet", payload: raw });
          }
          this.body = [];
          break;
        }
      }
    }
    if (this.state === State.Idle) this.flushGarbage(events);
    return events;
  }

  /** True while a packet has started but not ended (a client that drops now dropped mid-command). */
  get midPacket(): boolean {
    return this.state !== State.Idle;
  }

  private flushGarbage(events: DecoderEvent[]): void {
    if (this.garbage > 0) {
      events.push({ type: "garbage", bytes: this.garbage });
      this.garbage = 0;
    }
  }
}
