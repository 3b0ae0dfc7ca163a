/** The server over TCP, driven packet by packet by a scripted client, on the demo trace. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { Trace } from "../../src/trace/trace.js";
import { GdbServer } from "../../src/gdb/server.js";
import { framePacket } from "../../src/gdb/protocol.js";
import { demoSymbols, fromLe32, le32, recordDemo, RspClient, tmpDir } from "./helpers.js";

let dir: string;
let trace: Trace;
let server: GdbServer;
let log: string[] = [];
const sym = demoSymbols();
const hex = (n: number) => n.toString(16);

beforeAll(async () => {
  dir = tmpDir();
  trace = Trace.open(await recordDemo(dir));
  server = await GdbServer.listen(trace, { log: (l) => log.push(l) });
});

afterAll(async () => {
  await server?.close();
  trace?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  log = [];
});

afterEach(() => {
  RspClient.closeAll();
});

/** A client that has done gdb's opening (qSupported with the stop reasons gdb offers). */
async function client(): Promise<RspClient> {
  // The previous test's client may still be on its way out; one client at a time.
  await until(() => !server.clientConnected);
  const c = await RspClient.connect(server.port);
  await c.ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
  return c;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("handshake and queries", () => {
  it("acks packets and advertises reverse execution, the stop reasons asked for and no-ack mode", async () => {
    await until(() => !server.clientConnected);
    const c = await RspClient.connect(server.port);
    c.write(framePacket("qSupported:swbreak+;hwbreak+"));
    expect(await c.next()).toEqual({ type: "ack" });
    const r = await c.reply();
    const features = r!.split(";");
    expect(features).toEqual(expect.arrayContaining(["ReverseStep+", "ReverseContinue+", "QStartNoAckMode+", "qXfer:features:read+", "swbreak+", "hwbreak+"]));
    expect(features.find((f) => f.startsWith("PacketSize="))).toBeDefined();
    // Without the offer, no swbreak/hwbreak.
    expect(await c.ask("qSupported")).not.toContain("swbreak");
    c.close();
  });

  it("serves the target description in pieces", async () => {
    const c = await client();
    let xml = "";
    for (let off = 0; ; ) {
      const r = await c.ask(`qXfer:features:read:target.xml:${hex(off)},64`);
      expect(r[0] === "m" || r[0] === "l").toBe(true);
      xml += r.slice(1);
      off += r.length - 1;
      if (r[0] === "l") break;
      expect(r.length - 1).toBe(0x64);
    }
    expect(xml).toContain("<architecture>i386</architecture>");
    expect(xml).toContain('<feature name="org.gnu.gdb.i386.core">');
    const names = [...xml.matchAll(/<reg name="([a-z0-9]+)"/g)].map((m) => m[1]);
    expect(names.slice(0, 16)).toEqual(["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs"]);
    expect(xml.trim().endsWith("</target>")).toBe(true);
    expect(await c.ask("qXfer:features:read:other.xml:0,100")).toBe("E00");
    expect(await c.ask("qXfer:features:read:target.xml:zz")).toMatch(/^E/);
    c.close();
  });

  it("one thread, attached, stopped", async () => {
    const c = await client();
    expect(await c.ask("?")).toBe("T05thread:1;");
    expect(await c.ask("qAttached")).toBe("1");
    expect(await c.ask("qC")).toBe("QC1");
    expect(await c.ask("qfThreadInfo")).toBe("m1");
    expect(await c.ask("qsThreadInfo")).toBe("l");
    expect(await c.ask("Hg0")).toBe("OK");
    expect(await c.ask("Hc-1")).toBe("OK");
    expect(await c.ask("T1")).toBe("OK");
    expect(await c.ask("T2")).toMatch(/^E/);
    expect(await c.ask("vCont?")).toBe("vCont;c;C;s;S");
    c.close();
  });

  it("answers what it does not implement with the empty packet", async () => {
    const c = await client();
    for (const p of ["vMustReplyEmpty", "qTStatus", "!", "A", "qXfer:exec-file:read::0,100", "vFile:open:2f,0,0", "Z9,0,0", "QNonStop:1"]) {
      expect(await c.ask(p)).toBe("");
    }
    c.close();
  });
});

describe("registers and memory", () => {
  it("g, p and m read the state at the current step", async () => {
    const c = await client();
    const st = trace.stateAt(0);
    const code = st.readLinear(st.regs.eip, 8)!;
    const g = await c.ask("g");
    // 16 core registers, 8 x87 data (10 bytes) and 8 x87 control registers, 8 XMM (16 bytes) and
    // MXCSR, then CR0, CR2, CR3, CR4.
    expect(g.length).toBe(2 * (16 * 4 + 8 * 10 + 8 * 4 + 8 * 16 + 4 + 4 * 4));
    expect(fromLe32(g.slice(8 * 8, 8 * 9))).toBe(st.regs.eip);
    expect(fromLe32(g.slice(0, 8))).toBe(st.regs.eax);
    expect(g.slice(16 * 8, 16 * 8 + 20)).toBe("0".repeat(20)); // st0 at power-on
    expect(await c.ask("p8")).toBe(le32(st.regs.eip));
    expect(await c.ask("p29")).toBe(le32(st.regs.cr0));
    expect(await c.ask("p10")).toBe("0".repeat(20));
    expect(await c.ask("p18")).toBe(le32(0x037f)); // fctrl after power-on / FNINIT
    expect(await c.ask("p1a")).toBe(le32(0xffff)); // ftag: every register empty
    expect(await c.ask("p28")).toBe(le32(0x1f80)); // mxcsr
    expect(await c.ask("p99")).toMatch(/^E/);
    expect(await c.ask("pzz")).toMatch(/^E/);
    expect(await c.ask(`m${hex(st.regs.eip)},8`)).toBe(Buffer.from(code).toString("hex"));
    // The kernel's high addresses mean nothing before paging is on.
    expect(await c.ask(`m${hex(sym.idleThread)},4`)).toBe("E14");
    expect(await c.ask("mxyz,4")).toMatch(/^E/);
    expect(await c.ask("m100000")).toMatch(/^E/);
    c.close();
  });

  it("refuses every write with an error and changes nothing", async () => {
    const c = await client();
    const before = await c.ask("g");
    for (const p of ["G" + "00".repeat(16 * 4), "P8=00000000", "M100000,1:90", "X100000,1:\x90"]) {
      expect(await c.ask(p)).toMatch(/^E\.the recording is read-only/);
    }
    expect(await c.ask("g")).toBe(before);
    c.close();
  });
});

describe("execution", () => {
  it("breakpoints forward and backward, the history ends, and watchpoints through the index", async () => {
    const c = await client();
    const bp = hex(sym.restoreUserContext);
    expect(await c.ask(`Z0,${bp},1`)).toBe("OK");
    expect(await c.ask("c")).toBe("T05thread:1;swbreak:;");
    expect(fromLe32(await c.ask("p8"))).toBe(sym.restoreUserContext);
    expect(await c.ask("?")).toBe("T05thread:1;swbreak:;");
    expect(await c.ask(`z0,${bp},1`)).toBe("OK");
    expect(await c.ask(`Z1,${bp},1`)).toBe("OK");
    expect(await c.ask("vCont;c:1")).toBe("T05thread:1;hwbreak:;");
    expect(await c.ask(`z1,${bp},1`)).toBe("OK");
    expect(await c.ask("c")).toBe("T05thread:1;replaylog:end;");
    expect(await c.ask("s")).toBe("T05thread:1;replaylog:end;");
    expect(await c.ask("vCont;s:1")).toBe("T05thread:1;replaylog:end;");
    expect(await c.ask("bs")).toBe("T05thread:1;");
    expect(await c.ask("s")).toBe("T05thread:1;");
    expect(await c.ask(`Z2,${hex(sym.errorSlot)},4`)).toBe("OK");
    expect(await c.ask("bc")).toBe(`T05thread:1;watch:${hex(sym.errorSlot)};`);
    expect(await c.ask("bc")).toBe(`T05thread:1;watch:${hex(sym.errorSlot)};`);
    const pc = fromLe32(await c.ask("p8"));
    expect(pc >= sym.idleThread && pc < sym.idleThread + 0x20).toBe(true);
    expect(await c.ask(`z2,${hex(sym.errorSlot)},4`)).toBe("OK");
    expect(await c.ask(`Z3,${hex(sym.ksCurThread)},4`)).toBe("OK");
    expect(await c.ask("bc")).toBe(`T05thread:1;rwatch:${hex(sym.ksCurThread)};`);
    expect(await c.ask(`z3,${hex(sym.ksCurThread)},4`)).toBe("OK");
    expect(await c.ask("bc")).toBe("T05thread:1;replaylog:begin;");
    expect(await c.ask("bs")).toBe("T05thread:1;replaylog:begin;");
    expect(await c.ask("c100000")).toMatch(/^E/);
    expect(await c.ask("Z2,e010f624,0")).toMatch(/^E/);
    expect(await c.ask("Z0,nothex,1")).toMatch(/^E/);
    c.close();
  });

  it("monitor commands report and move the position", async () => {
    const c = await client();
    const text = async (cmd: string) => Buffer.from(await c.ask(`qRcmd,${Buffer.from(cmd).toString("hex")}`), "hex").toString();
    expect(await text("step")).toBe(`step 0 (the trace covers steps 0 to ${trace.steps})\n`);
    expect(await text("goto end")).toContain(`now at step ${trace.steps}`);
    expect(fromLe32(await c.ask("p8"))).toBe(trace.stateAt(trace.steps).regs.eip);
    expect(await text("goto 99999999999")).toContain("expected a step");
    expect(await text("frobnicate")).toContain("unknown monitor command");
    expect(await c.ask("qRcmd,zz")).toMatch(/^E/);
    c.close();
  });

  it("Ctrl-C (0x03) stops a long continue", async () => {
    const c = await client();
    // A read watchpoint on a word nothing reads: steps are looked at one by one, and the search would run to the end.
    expect(await c.ask("Z3,12345678,4")).toBe("OK");
    c.write(framePacket("c") + "\x03");
    expect(await c.reply()).toBe("T02thread:1;");
    c.write("+");
    expect(await c.ask("?")).toBe("T02thread:1;");
    const text = Buffer.from(await c.ask(`qRcmd,${Buffer.from("step").toString("hex")}`), "hex").toString();
    const step = Number(/step (\d+)/.exec(text)![1]);
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(trace.steps);
    c.close();
  });
});

describe("robustness", () => {
  it("bad checksums get a nack; the resent packet is answered", async () => {
    await until(() => !server.clientConnected);
    const c = await RspClient.connect(server.port);
    c.write("$g#00");
    expect(await c.next()).toEqual({ type: "nack" });
    c.write("$?#3f");
    expect(await c.next()).toEqual({ type: "ack" });
    expect(await c.reply()).toBe("T05thread:1;");
    expect(log.some((l) => l.includes("bad checksum"))).toBe(true);
    c.close();
  });

  it("the last reply is resent on a nack", async () => {
    await until(() => !server.clientConnected);
    const c = await RspClient.connect(server.port);
    c.write(framePacket("qC"));
    expect(await c.reply()).toBe("QC1");
    c.write("-");
    expect(await c.next()).toEqual({ type: "packet", payload: "QC1" });
    c.close();
  });

  it("oversized packets and stray bytes get an error or are skipped, and the connection goes on", async () => {
    const c = await client();
    c.write(framePacket("m" + "0".repeat(40_000)));
    expect(await c.reply()).toMatch(/^E\.packet of 40001 bytes is longer than the PacketSize limit/);
    c.write("+hello world\r\n");
    expect(await c.ask("qC")).toBe("QC1");
    expect(log.some((l) => l.includes("stray bytes"))).toBe(true);
    c.close();
  });

  it("no-ack mode: no acks either way; a bad checksum then gets an error reply", async () => {
    const c = await client();
    expect(await c.ask("QStartNoAckMode")).toBe("OK");
    const mark = c.raw.length;
    c.write(framePacket("qC"));
    expect(await c.reply()).toBe("QC1");
    c.write("$qC#00");
    expect(await c.reply()).toBe("E.bad checksum");
    expect(c.raw.slice(mark)).not.toContain("+");
    c.close();
  });

  it("a client that drops in the middle of a continue or a packet does not take the server down", async () => {
    const a = await client();
    expect(await a.ask("Z0,12345678,1")).toBe("OK");
    a.write(framePacket("c"));
    await until(() => a.raw.endsWith("+") || a.raw.includes("+"));
    a.close();
    await until(() => log.some((l) => l.includes("disconnected")));
    const b = await client();
    b.write("$m1000");
    b.close();
    await until(() => log.some((l) => l.includes("in the middle of a packet")));
    const c = await client();
    expect(await c.ask("?")).toBe("T05thread:1;");
    c.close();
  });

  it("a second client is refused with an error while the first keeps working", async () => {
    const a = await client();
    const b = await RspClient.connect(server.port);
    b.write(framePacket("qSupported"));
    expect(await b.reply()).toMatch(/^E\.ttd gdbserver is already serving another debugger/);
    await b.waitClosed();
    expect(await a.ask("qC")).toBe("QC1");
    expect(log.some((l) => l.includes("refused a connection"))).toBe(true);
    a.close();
  });

  it("k and D end the session; the next client starts afresh at the start with nothing set", async () => {
    const a = await client();
    expect(await a.ask(`Z0,${hex(sym.idleThread)},1`)).toBe("OK");
    expect(await a.ask("c")).toBe("T05thread:1;swbreak:;");
    a.write(framePacket("k"));
    await a.waitClosed();
    const b = await client();
    expect(fromLe32(await b.ask("p8"))).toBe(trace.stateAt(0).regs.eip);
    expect(await b.ask("c")).toBe("T05thread:1;replaylog:end;");
    b.write(framePacket("D"));
    expect(await b.reply()).toBe("OK");
    await b.waitClosed();
  });
});

describe("options", () => {
  it("once: the server stops when its first client leaves; startStep sets where clients start", async () => {
    const s = await GdbServer.listen(trace, { once: true, startStep: trace.steps });
    const c = await RspClient.connect(s.port);
    expect(fromLe32(await c.ask("p8"))).toBe(trace.stateAt(trace.steps).regs.eip);
    expect(await c.ask("bs")).toBe("T05thread:1;");
    c.write(framePacket("D"));
    await c.waitClosed();
    await s.closed;
    await expect(RspClient.connect(s.port)).rejects.toThrow();
  });

  it("refuses a start step outside the trace and a port in use", async () => {
    await expect(GdbServer.listen(trace, { startStep: trace.steps + 1 })).rejects.toThrow(/outside the trace/);
    await expect(GdbServer.listen(trace, { port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
