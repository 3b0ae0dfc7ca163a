/**
 * One gdb client's conversation: packet payloads in, reply payloads out. Framing, acknowledgements
 * and sockets belong to the connection (server.ts); this file is the command set.
 *
 * The recording is read-only: register and memory writes get an error reply. Commands we do not
 * implement get the empty reply, which the protocol defines as "not supported".
 */
import { textToHex, fromHex, parseHex32, toHex } from "./protocol.js";
import { encodeAllRegisters, encodeRegister, TARGET_XML } from "./registers.js";
import { MAX_WATCH_LENGTH, type ReplayTarget, type Stop, type WatchType } from "./replay-target.js";

/** What the connection should do with a packet's outcome. */
export interface Reply {
  /** The reply payload, or null when the command has none (`k`). */
  payload: string | null;
  /** Close the connection once the reply is sent (`k`, `D`, `vKill`). */
  close?: boolean;
  /** Stop sending and expecting acknowledgements after this reply (QStartNoAckMode). */
  noAck?: boolean;
}

/** The one thread a recording of a single CPU has. */
const THREAD_ID = 1;
const ERR_READ_ONLY = "E.the recording is read-only: registers and memory cannot be changed";
/** Reply for memory that cannot be read (EFAULT, as gdb's own stubs use). */
const ERR_MEMORY = "E14";

export interface SessionOptions {
  /** Largest packet we accept, advertised as PacketSize. */
  maxPacket: number;
  /** A line for the server's log (stderr). */
  log: (line: string) => void;
  /** `monitor explain`: ttd explain's narrative at a step, or for the recording's crash when undefined. */
  explain?: (at: number | undefined) => string;
}

export class GdbSession {
  /** Stop reasons gdb said it understands in qSupported. */
  private swbreak = false;
  private hwbreak = false;
  private lastStop: Stop;
  /** True while a resume runs (an interrupt byte is meaningful only then). */
  running = false;

  constructor(
    readonly target: ReplayTarget,
    private readonly options: SessionOptions,
  ) {
    this.lastStop = { step: target.position, reason: { kind: "step" } };
  }

  /** Handles one packet payload; resumes are async (they may scan many steps). */
  async handle(packet: string): Promise<Reply> {
    try {
      return await this.dispatch(packet);
    } catch (e) {
      // Anything unexpected from the trace layer must not take the server down: tell gdb and log it.
      const msg = e instanceof Error ? e.message : String(e);
      this.options.log(`error handling '${packet.slice(0, 40)}': ${msg}`);
      return { payload: `E.${msg.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)}` };
    }
  }

  /** Asks a running resume to stop (gdb's Ctrl-C, or the client went away). */
  interrupt(): void {
    this.target.interrupt();
  }

  private async dispatch(p: string): Promise<Reply> {
    const r = (payload: string): Reply => ({ payload });
    switch (p[0]) {
      case "?":
        return r(this.stopReply(this.lastStop));
      case "g":
        return p === "g" ? r(encodeAllRegisters(this.target.registers(), this.target.fpuState())) : r("E.malformed 'g' packet");
      case "G":
      case "P":
      case "M":
      case "X":
        return r(ERR_READ_ONLY);
      case "p": {
        const n = parseHex32(p.slice(1));
        if (n === null) return r("E.malformed 'p' packet");
        const v = encodeRegister(this.target.registers(), this.target.fpuState(), n);
        return r(v ?? "E.no such register");
      }
      case "m":
        return r(this.readMemory(p));
      case "c":
      case "C":
      case "s":
      case "S":
        return this.resumeSimple(p);
      case "b":
        if (p === "bs" || p === "bc") return r(await this.resume(p === "bs" ? "step" : "continue", "backward"));
        return r("");
      case "v":
        return this.vPacket(p);
      case "q":
      case "Q":
        return this.query(p);
      case "H":
        // Hg/Hc select the thread later commands apply to: there is only one.
        return r(this.isOurThread(p.slice(2)) ? "OK" : "E.no such thread");
      case "T":
        return r(this.isOurThread(p.slice(1)) ? "OK" : "E.no such thread");
      case "Z":
      case "z":
        return r(this.breakpointPacket(p));
      case "k":
        return { payload: null, close: true };
      case "D":
        return { payload: "OK", close: true };
      default:
        return r("");
    }
  }

  // ---- Execution -----------------------------------------------------------------------------------

  private async resumeSimple(p: string): Promise<Reply> {
    // `c addr` / `s addr` would resume somewhere else: a recording can only go where it went.
    const arg = p[0] === "C" || p[0] === "S" ? p.slice(1).split(";")[1] : p.slice(1);
    if (arg !== undefined && arg !== "") return { payload: "E.cannot resume at another address in a recording" };
    // C/S carry a signal to deliver; a recording cannot take one, so it is ignored.
    return { payload: await this.resume(p[0] === "s" || p[0] === "S" ? "step" : "continue", "forward") };
  }

  private async resume(kind: "step" | "continue", direction: "forward" | "backward"): Promise<string> {
    this.running = true;
    try {
      const stop = kind === "step" ? await this.target.step(direction) : await this.target.continue(direction);
      for (const w of this.target.warnings.splice(0)) this.options.log(w);
      this.lastStop = stop;
      return this.stopReply(stop);
    } finally {
      this.running = false;
    }
  }

  private stopReply(stop: Stop): string {
    const reason = stop.reason;
    const thread = `thread:${THREAD_ID.toString(16)};`;
    switch (reason.kind) {
      case "interrupted":
        return `T02${thread}`;
      case "step":
        return `T05${thread}`;
      case "breakpoint": {
        // Say which kind only when gdb asked for it; then gdb also knows the PC needs no adjusting.
        const supported = reason.type === "sw" ? this.swbreak : this.hwbreak;
        return `T05${thread}${supported ? `${reason.type}break:;` : ""}`;
      }
      case "watch": {
        const key = reason.type === "write" ? "watch" : reason.type === "read" ? "rwatch" : "awatch";
        return `T05${thread}${key}:${reason.address.toString(16)};`;
      }
      case "history":
        return `T05${thread}replaylog:${reason.end};`;
    }
  }

  private async vPacket(p: string): Promise<Reply> {
    if (p === "vCont?") return { payload: "vCont;c;C;s;S" };
    if (p.startsWith("vCont;")) {
      // Actions apply to threads; the first one naming our thread (or all threads) is ours.
      for (const part of p.slice(6).split(";")) {
        const [action, thread] = part.split(":");
        if (thread !== undefined && !this.isOurThread(thread)) continue;
        const op = action[0];
        if (op === "c" || op === "C") return { payload: await this.resume("continue", "forward") };
        if (op === "s" || op === "S") return { payload: await this.resume("step", "forward") };
        if (op === "t") return { payload: this.stopReply({ step: this.target.position, reason: { kind: "interrupted" } }) };
        return { payload: `E.unsupported vCont action '${action}'` };
      }
      return { payload: "E.no vCont action for thread 1" };
    }
    if (p.startsWith("vKill")) return { payload: "OK", close: true };
    // vMustReplyEmpty, vFile, vRun, vAttach and the rest: not supported.
    return { payload: "" };
  }

  // ---- Queries -------------------------------------------------------------------------------------

  private query(p: string): Reply {
    const r = (payload: string): Reply => ({ payload });
    if (p.startsWith("qSupported")) {
      const features = p.includes(":") ? p.slice(p.indexOf(":") + 1).split(";") : [];
      this.swbreak = features.includes("swbreak+");
      this.hwbreak = features.includes("hwbreak+");
      const reply = [
        `PacketSize=${this.options.maxPacket.toString(16)}`,
        "QStartNoAckMode+",
        "qXfer:features:read+",
        "ReverseStep+",
        "ReverseContinue+",
      ];
      if (this.swbreak) reply.push("swbreak+");
      if (this.hwbreak) reply.push("hwbreak+");
      return r(reply.join(";"));
    }
    if (p === "QStartNoAckMode") return { payload: "OK", noAck: true };
    if (p.startsWith("qXfer:")) return r(this.xfer(p));
    if (p === "qAttached" || p.startsWith("qAttached:")) return r("1");
    if (p === "qC") return r(`QC${THREAD_ID.toString(16)}`);
    if (p === "qfThreadInfo") return r(`m${THREAD_ID.toString(16)}`);
    if (p === "qsThreadInfo") return r("l");
    if (p.startsWith("qThreadExtraInfo,")) {
      if (!this.isOurThread(p.slice("qThreadExtraInfo,".length))) return r("E.no such thread");
      return r(textToHex(`recorded CPU, step ${this.target.position}`));
    }
    if (p === "qSymbol::") return r("OK");
    if (p.startsWith("qRcmd,")) return r(this.monitor(p.slice(6)));
    return r("");
  }

  private xfer(p: string): string {
    // qXfer:object:read:annex:offset,length
    const m = /^qXfer:([^:]+):([^:]+):([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
    if (m === null) return "E.malformed qXfer packet";
    const [, object, op, annex, offHex, lenHex] = m;
    if (object !== "features") return "";
    if (op !== "read") return "E.the target description is read-only";
    if (annex !== "target.xml") return "E00";
    const offset = parseInt(offHex, 16), length = parseInt(lenHex, 16);
    if (offset > TARGET_XML.length) return "E.offset past the end of target.xml";
    const chunk = TARGET_XML.slice(offset, offset + Math.min(length, this.options.maxPacket - 8));
    return (offset + chunk.length >= TARGET_XML.length ? "l" : "m") + chunk;
  }

  private monitor(hex: string): string {
    const bytes = fromHex(hex);
    if (bytes === null) return "E.malformed qRcmd packet";
    const words = Buffer.from(bytes).toString("utf8").trim().split(/\s+/).filter((w) => w !== "");
    const t = this.target;
    const out = (text: string) => textToHex(text.endsWith("\n") ? text : text + "\n");
    switch (words[0] ?? "help") {
      case "step":
      case "when":
        return out(`step ${t.position} (the trace covers steps ${t.firstStep} to ${t.lastStep})`);
      case "goto": {
        const n = words[1] === "end" ? t.lastStep : words[1] === "start" ? t.firstStep : Number(words[1]);
        if (!Number.isInteger(n) || n < t.firstStep || n > t.lastStep) {
          return out(`goto: expected a step from ${t.firstStep} to ${t.lastStep}, 'start' or 'end'`);
        }
        t.seek(n);
        this.lastStop = { step: n, reason: { kind: "step" } };
        return out(`now at step ${n}; run 'maintenance flush register-cache' so gdb reads the new state`);
      }
      case "stats":
        return out(
          [
            `steps searched for breakpoints at compiled speed this session: ${t.stepsSearched}`,
            `steps re-executed one by one by read-watchpoint searches this session: ${t.stepsScanned}`,
          ].join("\n"),
        );
      case "explain": {
        const explainer = this.options.explain;
        if (explainer === undefined) return out("explain: not available on this server (it was started without the recording's symbols)");
        if (words[1] !== undefined && words[1] !== "here") return out("usage: monitor explain [here]");
        return out(explainer(words[1] === "here" ? t.position : undefined));
      }
      case "help":
        return out(
          [
            "ttd gdbserver monitor commands:",
            "  monitor explain [here]  why the recording crashed, back to the root (here: the fault or step gdb is at)",
            "  monitor step            the current step number (also: monitor when)",
            "  monitor goto N|start|end  move to step N (then: maintenance flush register-cache)",
            "  monitor stats           how many steps breakpoint and read-watchpoint searches covered",
          ].join("\n"),
        );
      default:
        return out(`unknown monitor command '${words[0]}'; try 'monitor help'`);
    }
  }

  // ---- Memory and breakpoints ----------------------------------------------------------------------

  private readMemory(p: string): string {
    const m = /^m([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})$/.exec(p);
    if (m === null) return "E.malformed 'm' packet";
    const address = parseInt(m[1], 16) >>> 0;
    // Each byte takes two characters in the reply.
    const length = Math.min(parseInt(m[2], 16), Math.floor((this.options.maxPacket - 4) / 2));
    if (length === 0) return "";
    const bytes = this.target.readMemory(address, length);
    return bytes === null ? ERR_MEMORY : toHex(bytes);
  }

  private breakpointPacket(p: string): string {
    // Z/z type,addr,kind[;cond...]: conditions are for the target to evaluate, which we do not offer.
    const m = /^([Zz])([0-4]),([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})(;.*)?$/.exec(p);
    if (m === null) return /^[Zz][0-4]/.test(p) ? "E.malformed breakpoint packet" : "";
    const insert = m[1] === "Z";
    const type = Number(m[2]);
    const address = parseInt(m[3], 16) >>> 0;
    const kind = parseInt(m[4], 16);
    const t = this.target;
    if (type <= 1) {
      const bt = type === 0 ? "sw" : "hw";
      if (insert) t.insertBreakpoint(bt, address);
      else t.removeBreakpoint(bt, address);
      return "OK";
    }
    const watchType: WatchType = type === 2 ? "write" : type === 3 ? "read" : "access";
    if (kind < 1 || kind > MAX_WATCH_LENGTH) return `E.watch length ${kind} is out of range (1 to ${MAX_WATCH_LENGTH})`;
    if (insert) t.insertWatchpoint({ type: watchType, address, length: kind });
    else t.removeWatchpoint({ type: watchType, address, length: kind });
    return "OK";
  }

  /** Thread ids as gdb writes them: 1, 0 (any), -1 (all), or p1.1 style with multiprocess. */
  private isOurThread(id: string): boolean {
    const m = /^(?:p(?:-1|[0-9a-fA-F]+)\.)?(-1|[0-9a-fA-F]+)$/.exec(id);
    if (m === null) return false;
    return m[1] === "-1" || parseInt(m[1], 16) === 0 || parseInt(m[1], 16) === THREAD_ID;
  }
}
