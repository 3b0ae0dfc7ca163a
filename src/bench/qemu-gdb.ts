/**
 * The guest as QEMU has it when the kernel's first instruction is about to run, read through QEMU's
 * gdbstub: QEMU starts stopped (-S) with the stub on a Unix socket, a breakpoint is set at the entry,
 * and once it is hit the registers and the asked memory are read and QEMU is ended.
 *
 * A lockstep comparison uses it to start ttd from the same state where the two machines differ for
 * reasons that are not the CPU's: the firmware (SeaBIOS's tables and data under QEMU, ttd's own
 * tables) and the loader (QEMU runs a kernel's real-mode setup code, ttd enters at its 32-bit entry).
 * QEMU under -icount is deterministic, so a second run of the same machine reaches the entry in the
 * same state.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { framePacket, fromHex, PacketDecoder } from "../gdb/protocol.js";
import type { AddressRange } from "./code-ranges.js";
import { findQemu, QEMU_MISSING, QemuLogError } from "./qemu-log.js";

export interface QemuEntryState {
  eip: number;
  /** The general registers in ttd's order (eax, ecx, edx, ebx, esp, ebp, esi, edi). */
  regs: Int32Array;
  eflags: number;
  /** The code segment selector. */
  cs: number;
  /** The memory asked for, range by range. */
  memory: { start: number; bytes: Uint8Array }[];
}

export interface EntryStateOptions {
  qemu?: string;
  /** Give up after this long (default 2 minutes). */
  timeoutMs?: number;
}

/** Bytes asked for per `m` packet: QEMU's stub answers in packets of at most 4096 characters of hex. */
const READ_CHUNK = 1024;

/**
 * Runs QEMU with `machineArgs` until `entry` is about to execute and returns its registers and the
 * memory in `regions` there. The breakpoint is on the linear address, so `entry` must be an address
 * the firmware and loader do not execute before the kernel (true of a kernel's entry at 1 MiB).
 */
export async function qemuStateAtEntry(machineArgs: string[], entry: number, regions: readonly AddressRange[], opts: EntryStateOptions = {}): Promise<QemuEntryState> {
  const qemu = opts.qemu ?? findQemu();
  if (!qemu) throw new QemuLogError(QEMU_MISSING);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-qemu-gdb-"));
  const sock = path.join(dir, "gdb.sock");
  const child = spawn(qemu, [...machineArgs, "-S", "-gdb", `unix:${sock},server=on,wait=on`], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let exited = false;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => { stderr += s; });
  const exit = new Promise<void>((resolve) => {
    child.on("exit", () => { exited = true; resolve(); });
    child.on("error", (err) => { exited = true; stderr += String(err); resolve(); });
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const failed = (what: string): QemuLogError => new QemuLogError(`${what}${stderr.trim() ? `; QEMU said: ${stderr.trim()}` : ""}`);
  let socket: net.Socket | null = null;
  try {
    while (!fs.existsSync(sock)) {
      if (exited) throw failed("QEMU ended before its gdbstub was listening");
      if (Date.now() > deadline) throw failed("QEMU's gdbstub did not start listening");
      await new Promise((r) => setTimeout(r, 20));
    }
    socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(sock, () => resolve(s));
      s.once("error", reject);
    });
    const stub = new StubConnection(socket, deadline, failed);
    const set = await stub.ask(`Z1,${entry.toString(16)},1`);
    if (set !== "OK") throw failed(`QEMU's gdbstub refused a breakpoint at 0x${entry.toString(16)} (${JSON.stringify(set)})`);
    const stop = await stub.ask("c");
    if (!/^[TS]05/.test(stop)) throw failed(`QEMU stopped with ${JSON.stringify(stop)} instead of at the breakpoint`);
    const g = await stub.ask("g");
    // i386 `g` reply: eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs, 32 bits each, little-endian.
    const word = (i: number): number => {
      const bytes = fromHex(g.slice(i * 8, i * 8 + 8));
      if (bytes === null || bytes.length !== 4) throw failed(`unexpected register reply from QEMU's gdbstub: ${JSON.stringify(g.slice(0, 200))}`);
      return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
    };
    const state: QemuEntryState = {
      eip: word(8), regs: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7].map(word)), eflags: word(9), cs: word(10), memory: [],
    };
    if (state.eip !== entry >>> 0) throw failed(`QEMU stopped at 0x${state.eip.toString(16)}, not at the entry 0x${entry.toString(16)}`);
    for (const [start, end] of regions) {
      const bytes = new Uint8Array(end - start);
      for (let a = start; a < end; a += READ_CHUNK) {
        const n = Math.min(READ_CHUNK, end - a);
        const reply = await stub.ask(`m${a.toString(16)},${n.toString(16)}`);
        const data = fromHex(reply);
        if (data === null || data.length !== n) throw failed(`QEMU's gdbstub could not read ${n} bytes at 0x${a.toString(16)} (${JSON.stringify(reply.slice(0, 40))})`);
        bytes.set(data, a - start);
      }
      state.memory.push({ start, bytes });
    }
    stub.send("k");
    return state;
  } finally {
    socket?.destroy();
    // `k` ends QEMU; a failure leaves it running. Either way it is gone before this returns.
    const ended = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
    if (!ended) {
      child.kill("SIGKILL");
      await exit;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Request and reply over the stub's socket, in the protocol's acknowledged mode. */
class StubConnection {
  private readonly decoder = new PacketDecoder(1 << 16);
  private readonly replies: string[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(private readonly socket: net.Socket, private readonly deadline: number, private readonly failed: (what: string) => Error) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      for (const ev of this.decoder.feed(d)) if (ev.type === "packet") this.replies.push(ev.payload);
      this.wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on("error", () => {});
  }

  send(payload: string): void {
    this.socket.write(framePacket(payload), "latin1");
  }

  /** Sends a packet and returns the reply's payload. */
  async ask(payload: string): Promise<string> {
    this.send(payload);
    for (;;) {
      const r = this.replies.shift();
      if (r !== undefined) {
        this.socket.write("+");
        return r;
      }
      if (this.closed) throw this.failed(`QEMU closed its gdbstub connection before answering ${payload}`);
      const left = this.deadline - Date.now();
      if (left <= 0) throw this.failed(`QEMU's gdbstub did not answer ${payload} in time`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
  }
}
