/**
 * The TCP side of `ttd gdbserver`: listen (on loopback unless told otherwise), serve one gdb at a
 * time, frame and acknowledge packets, and survive whatever a client sends or does.
 *
 * Behaviour, as documented for users:
 * - One client at a time. A second connection while one is served gets an error reply to its first
 *   packet (gdb shows it) and is closed; the first client is not disturbed.
 * - Each client starts at the server's start step with no breakpoints, whatever the previous one did.
 * - Bad checksums get a `-` (gdb then resends); in no-ack mode, where nothing is resent, an error reply.
 *   A packet longer than the advertised PacketSize is dropped and answered with an error. Bytes
 *   outside packets are skipped. None of these closes the connection.
 * - A client that disconnects, even in the middle of a continue, ends its session: the running search
 *   is abandoned and the server waits for the next client (or, with `once`, stops).
 * - `k`, `vKill` and `D` end the session the same way; the recording itself is never changed.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Trace } from "../trace/trace.js";
import { DEFAULT_MAX_PACKET, framePacket, PacketDecoder, type DecoderEvent } from "./protocol.js";
import { ReplayTarget } from "./replay-target.js";
import { GdbSession, type Reply } from "./session.js";

export interface GdbServerOptions {
  /** Address to listen on (default 127.0.0.1: a recording can hold secrets; do not expose it by accident). */
  host?: string;
  /** TCP port (default 0: any free port; read it from `port` after listen). */
  port?: number;
  /** Where each new client starts (default: the first step of the trace). */
  startStep?: number;
  /** Largest packet accepted (default 16 KiB). */
  maxPacket?: number;
  /** Stop serving once the first client has gone. */
  once?: boolean;
  /** Log lines (connections, refusals, protocol errors). Default: none. */
  log?: (line: string) => void;
  /** Also log every packet in and out (truncated). */
  verbose?: boolean;
  /** Answers `monitor explain` (ttd explain's narrative) at a step, or for the recording's crash when undefined. */
  explain?: (at: number | undefined) => string;
}

/** Longest packet text shown in verbose logs. */
const LOG_PACKET_CHARS = 120;

export class GdbServer {
  private readonly server: Server;
  private active: Connection | null = null;
  private closing = false;
  private readonly log: (line: string) => void;
  private resolveClosed!: () => void;
  /** Settles once the server has stopped (close(), or the first client left under `once`). */
  readonly closed: Promise<void>;

  private constructor(
    readonly trace: Trace,
    private readonly options: GdbServerOptions,
  ) {
    this.log = options.log ?? (() => {});
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.server = createServer((socket) => this.accept(socket));
    this.server.on("close", () => this.resolveClosed());
  }

  /** Starts listening; rejects when the port cannot be had (in use, no permission). */
  static async listen(trace: Trace, options: GdbServerOptions = {}): Promise<GdbServer> {
    const start = options.startStep ?? trace.startStep;
    if (!Number.isInteger(start) || start < trace.startStep || start > trace.steps) {
      throw new RangeError(`start step ${start} is outside the trace (steps ${trace.startStep} to ${trace.steps})`);
    }
    const s = new GdbServer(trace, options);
    await new Promise<void>((resolve, reject) => {
      s.server.once("error", reject);
      s.server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        s.server.off("error", reject);
        resolve();
      });
    });
    s.server.on("error", (e) => s.log(`server error: ${e.message}`));
    const addr = s.server.address() as AddressInfo;
    s.port = addr.port;
    s.host = addr.address;
    return s;
  }

  /** The port and address listened on (still readable after close). */
  port = 0;
  host = "";

  /** True while a client is being served (another would be refused). */
  get clientConnected(): boolean {
    return this.active !== null;
  }

  /** Stops listening and drops the current client, if any. */
  async close(): Promise<void> {
    if (this.closing) return this.closed;
    this.closing = true;
    this.active?.end("dropped: the server is shutting down");
    this.server.close();
    return this.closed;
  }

  private accept(socket: Socket): void {
    const peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.active !== null) {
      this.log(`refused a connection from ${peer}: a debugger is already connected (one client at a time)`);
      refuse(socket, "E.ttd gdbserver is already serving another debugger; only one client at a time");
      return;
    }
    this.log(`client ${peer} connected`);
    const target = new ReplayTarget(this.trace, this.options.startStep);
    const conn = new Connection(socket, target, {
      maxPacket: this.options.maxPacket ?? DEFAULT_MAX_PACKET,
      log: (line) => this.log(`${peer}: ${line}`),
      verbose: this.options.verbose ?? false,
      explain: this.options.explain,
      onEnd: (why) => {
        this.log(`client ${peer} ${why}`);
        if (this.active === conn) this.active = null;
        if (this.options.once && !this.closing) void this.close();
      },
    });
    this.active = conn;
  }
}

/** Answers the first packet of an unwanted client with `message`, then closes it. */
function refuse(socket: Socket, message: string): void {
  const decoder = new PacketDecoder(DEFAULT_MAX_PACKET);
  let done = false;
  socket.on("error", () => socket.destroy());
  // A client that never sends a packet is not kept around.
  const timer = setTimeout(() => socket.destroy(), 5000);
  socket.on("close", () => clearTimeout(timer));
  socket.on("data", (data: Buffer) => {
    if (done) return;
    for (const ev of decoder.feed(data)) {
      if (ev.type !== "packet" && ev.type !== "bad-checksum" && ev.type !== "oversized") continue;
      done = true;
      socket.end("+" + framePacket(message));
      return;
    }
  });
}

interface ConnectionOptions {
  maxPacket: number;
  log: (line: string) => void;
  verbose: boolean;
  explain?: (at: number | undefined) => string;
  onEnd: (why: string) => void;
}

/** One client: decoder, ack handling, a queue of packets handled one at a time, and the session. */
class Connection {
  private readonly decoder: PacketDecoder;
  private readonly session: GdbSession;
  private ackMode = true;
  private lastFrame: string | null = null;
  private resends = 0;
  /** Packets waiting for their turn, and protocol-error replies kept in order with them. */
  private readonly queue: ({ packet: string } | { reply: Reply })[] = [];
  private busy = false;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    target: ReplayTarget,
    private readonly options: ConnectionOptions,
  ) {
    this.decoder = new PacketDecoder(options.maxPacket);
    this.session = new GdbSession(target, { maxPacket: options.maxPacket, log: options.log, explain: options.explain });
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("error", (e) => this.end(`connection error: ${e.message}`));
    socket.on("close", () => {
      const mid = this.session.running ? " during a continue/step (abandoned)" : this.decoder.midPacket ? " in the middle of a packet" : "";
      this.end(`disconnected${mid}`);
    });
  }

  /**
   * Ends the session (idempotent): stops any running search and closes the socket. `graceful` lets
   * the last reply (`D`'s OK) reach the client first; a client that then keeps the socket open is cut
   * off after a second.
   */
  end(why: string, graceful = false): void {
    if (this.ended) return;
    this.ended = true;
    this.session.interrupt();
    this.queue.length = 0;
    if (graceful && !this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
    this.options.onEnd(why);
  }

  private write(text: string): void {
    if (this.ended || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(text, "latin1");
  }

  private onData(data: Buffer): void {
    for (const ev of this.decoder.feed(data)) this.onEvent(ev);
  }

  private onEvent(ev: DecoderEvent): void {
    switch (ev.type) {
      case "packet":
        if (this.ackMode) this.write("+");
        if (this.options.verbose) this.options.log(`<- ${ev.payload.slice(0, LOG_PACKET_CHARS)}`);
        this.queue.push({ packet: ev.payload });
        this.schedule();
        break;
      case "bad-checksum":
        this.options.log(`bad checksum (packet says ${JSON.stringify(ev.expected)}, bytes sum to ${ev.actual.toString(16).padStart(2, "0")})${this.ackMode ? "; asked for a resend" : ""}`);
        if (this.ackMode) this.write("-");
        else this.enqueueReply({ payload: "E.bad checksum" });
        break;
      case "oversized":
        this.options.log(`dropped a packet of ${ev.length} bytes (the limit is ${this.options.maxPacket})`);
        if (this.ackMode) this.write("+");
        this.enqueueReply({ payload: `E.packet of ${ev.length} bytes is longer than the PacketSize limit of ${this.options.maxPacket}` });
        break;
      case "ack":
        this.resends = 0;
        this.lastFrame = null;
        break;
      case "nack":
        // Resend the last reply, a few times at most (a client that keeps refusing is broken).
        if (this.ackMode && this.lastFrame !== null && this.resends < 5) {
          this.resends++;
          this.write(this.lastFrame);
        }
        break;
      case "interrupt":
        if (this.session.running) this.session.interrupt();
        break;
      case "garbage":
        this.options.log(`skipped ${ev.bytes} stray byte${ev.bytes === 1 ? "" : "s"} outside packets`);
        break;
    }
  }

  /** A reply that answers no command of the queue (a protocol error): sent in order with the rest. */
  private enqueueReply(reply: Reply): void {
    this.queue.push({ reply });
    this.schedule();
  }

  private schedule(): void {
    // pump() handles its own errors; anything escaping is a bug, and ends this client, not the server.
    this.pump().catch((e: unknown) => this.end(`dropped after an internal error: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Handles queued packets one at a time: gdb waits for each reply, and a resume may take a while. */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.ended) {
        const item = this.queue.shift()!;
        const reply = "reply" in item ? item.reply : await this.session.handle(item.packet);
        if (this.ended) return;
        if (reply.payload !== null) {
          const frame = framePacket(reply.payload);
          if (this.options.verbose) this.options.log(`-> ${reply.payload.slice(0, LOG_PACKET_CHARS)}`);
          this.lastFrame = this.ackMode ? frame : null;
          this.resends = 0;
          this.write(frame);
        }
        if (reply.noAck) this.ackMode = false;
        if (reply.close) {
          this.end("ended the session", true);
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
