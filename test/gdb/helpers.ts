/** Shared fixtures for the gdbserver tests: the demo trace, a scripted RSP client over TCP. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Machine } from "../../src/machine/machine.js";
import { Recorder } from "../../src/trace/recorder.js";
import { DebugInfo } from "../../src/symbols/index.js";
import { PacketDecoder, framePacket, type DecoderEvent } from "../../src/gdb/protocol.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const BUG_ELF = path.join(REPO, "src/kernel/build/idle-bug.elf");

/** Addresses in the demo image, from its own symbols. */
export function demoSymbols(): { idleThread: number; restoreUserContext: number; idleTcb: number; errorSlot: number; ksCurThread: number } {
  const di = DebugInfo.fromElf(new Uint8Array(fs.readFileSync(BUG_ELF)));
  const fn = (name: string) => {
    const f = di.functionNamed(name);
    if (f === undefined) throw new Error(`no function ${name} in ${BUG_ELF}`);
    return f.entry;
  };
  const v = (name: string) => {
    const a = di.variable(name)?.address;
    if (a === undefined) throw new Error(`no variable ${name} in ${BUG_ELF}`);
    return a;
  };
  const idleTcb = v("ksIdleThreadTCB");
  // registers[Error] of the idle TCB: object + 0x600 (tcb_t at +0x400, 512-byte FPU area) + 9 * 4.
  return { idleThread: fn("idle_thread"), restoreUserContext: fn("restore_user_context"), idleTcb, errorSlot: idleTcb + 0x624, ksCurThread: v("ksCurThread") };
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ttd-gdb-test-"));
}

/** Records the idle-bug demo kernel into `dir` and returns the trace path. */
export async function recordDemo(dir: string): Promise<string> {
  const image = new Uint8Array(fs.readFileSync(BUG_ELF));
  const out = path.join(dir, "idle-bug.trace");
  const machine = Machine.fromElf(image);
  const rec = new Recorder(machine, { path: out, image, imageName: "idle-bug.elf" });
  const result = await rec.run();
  if (result.reason !== "exit") throw new Error(`demo recording ended with ${result.reason}: ${result.detail}`);
  return out;
}

/**
 * A gdb stand-in: sends packets, collects acks and replies. It parses the server's bytes with the
 * same decoder the server uses (the decoder has its own tests against hand-made frames).
 */
export class RspClient {
  private readonly decoder = new PacketDecoder(1 << 20);
  private readonly events: DecoderEvent[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  /** Clients not yet closed (tests close them all after each test, even one that failed midway). */
  static readonly open = new Set<RspClient>();
  /** Every byte received, for tests that look at the raw stream. */
  raw = "";

  private constructor(readonly socket: Socket) {
    // Like gdb: small packets go out at once (Nagle would hold each behind the previous ack).
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.raw += d.toString("latin1");
      this.events.push(...this.decoder.feed(d));
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<RspClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => {
        const c = new RspClient(s);
        RspClient.open.add(c);
        resolve(c);
      });
      s.once("error", reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next event from the server (ack, nack or packet), or null if the connection closes first. */
  async next(timeoutMs = 10_000): Promise<DecoderEvent | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = this.events.shift();
      if (ev !== undefined) return ev;
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for the server");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next packet payload, skipping acks; null if the connection closes. */
  async reply(timeoutMs?: number): Promise<string | null> {
    for (;;) {
      const ev = await this.next(timeoutMs);
      if (ev === null) return null;
      if (ev.type === "packet") return ev.payload;
      if (ev.type !== "ack") throw new Error(`unexpected ${ev.type} from the server`);
    }
  }

  write(text: string): void {
    this.socket.write(text, "latin1");
  }

  /** Sends a packet and returns the reply payload (acks are consumed and not checked here). */
  async ask(payload: string, timeoutMs?: number): Promise<string> {
    this.write(framePacket(payload));
    const r = await this.reply(timeoutMs);
    if (r === null) throw new Error(`connection closed before a reply to ${payload}`);
    // Acknowledge the reply as gdb does in ack mode (harmless in no-ack mode).
    this.write("+");
    return r;
  }

  close(): void {
    RspClient.open.delete(this);
    this.socket.destroy();
  }

  static closeAll(): void {
    for (const c of [...RspClient.open]) c.close();
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("server did not close the connection");
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Little-endian hex of a 32-bit value, as registers travel. */
export function le32(v: number): string {
  return Buffer.from(Uint32Array.of(v >>> 0).buffer).toString("hex");
}

/** The 32-bit value of 8 little-endian hex digits. */
export function fromLe32(hex: string): number {
  return Buffer.from(hex, "hex").readUInt32LE(0);
}
