import { describe, expect, it } from "vitest";
import { checksum, escapePayload, framePacket, fromHex, le32Hex, PacketDecoder, parseHex32, toHex } from "../../src/gdb/protocol.js";

const bytes = (s: string) => Buffer.from(s, "latin1");

describe("framing", () => {
  it("checksums are the byte sum modulo 256", () => {
    // Values from the protocol manual's examples and by hand: 'O'+'K' = 0x4f + 0x4b = 0x9a.
    expect(checksum("OK")).toBe(0x9a);
    expect(checksum("")).toBe(0);
    expect(framePacket("OK")).toBe("$OK#9a");
    expect(framePacket("qSupported")).toBe("$qSupported#37");
    expect(framePacket("\xff\xff")).toBe("$\xff\xff#fe");
  });

  it("escapes the reserved bytes and checksums the escaped form", () => {
    expect(escapePayload("a$b#c}d*e")).toBe("a}\x04b}\x03c}]d}\x0ae");
    const f = framePacket("#");
    expect(f).toBe("$}\x03#80"); // '}' 0x7d + 0x03 = 0x80
  });

  it("hex helpers", () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0x10))).toBe("00ab10");
    expect(fromHex("00AB10")).toEqual(Uint8Array.of(0, 0xab, 0x10));
    expect(fromHex("abc")).toBeNull();
    expect(fromHex("zz")).toBeNull();
    expect(le32Hex(0x12345678)).toBe("78563412");
    expect(le32Hex(-1)).toBe("ffffffff");
    expect(parseHex32("e010f624")).toBe(0xe010f624);
    expect(parseHex32("123456789")).toBeNull();
    expect(parseHex32("")).toBeNull();
  });
});

describe("PacketDecoder", () => {
  it("splits packets, acks and the interrupt byte, across arbitrary chunk boundaries", () => {
    const stream = "+$qSupported#37-\x03$g#67";
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new PacketDecoder();
      const evs = [...d.feed(bytes(stream.slice(0, cut))), ...d.feed(bytes(stream.slice(cut)))];
      expect(evs).toEqual([
        { type: "ack" },
        { type: "packet", payload: "qSupported" },
        { type: "nack" },
        { type: "interrupt" },
        { type: "packet", payload: "g" },
      ]);
    }
  });

  it("reports bad checksums and non-hex checksum digits", () => {
    const d = new PacketDecoder();
    expect(d.feed(bytes("$g#00"))).toEqual([{ type: "bad-checksum", expected: "00", actual: 0x67 }]);
    expect(d.feed(bytes("$g#zz"))).toEqual([{ type: "bad-checksum", expected: "zz", actual: 0x67 }]);
    // The decoder recovers for the next packet.
    expect(d.feed(bytes("$g#67"))).toEqual([{ type: "packet", payload: "g" }]);
  });

  it("drops oversized packets without buffering them, then carries on", () => {
    const d = new PacketDecoder(16);
    const big = "m" + "0".repeat(100);
    expect(d.feed(bytes(framePacket(big)))).toEqual([{ type: "oversized", length: 101 }]);
    expect(d.feed(bytes(framePacket("0123456789abcdef")))).toEqual([{ type: "packet", payload: "0123456789abcdef" }]);
    // A body that never ends is counted, not stored.
    d.feed(bytes("$" + "x".repeat(100_000)));
    expect(d.midPacket).toBe(true);
    expect(d.feed(bytes("#00"))).toEqual([{ type: "oversized", length: 100_000 }]);
    expect(d.midPacket).toBe(false);
  });

  it("skips stray bytes and reports them once per run", () => {
    const d = new PacketDecoder();
    expect(d.feed(bytes("hello$g#67"))).toEqual([{ type: "garbage", bytes: 5 }, { type: "packet", payload: "g" }]);
    expect(d.feed(bytes("\r\n"))).toEqual([{ type: "garbage", bytes: 2 }]);
  });

  it("a '$' inside a packet restarts framing (the cut-off packet is garbage)", () => {
    const d = new PacketDecoder();
    expect(d.feed(bytes("$m100$g#67"))).toEqual([{ type: "garbage", bytes: 5 }, { type: "packet", payload: "g" }]);
  });

  it("keeps binary payload bytes intact (escapes are left for the command to undo)", () => {
    const d = new PacketDecoder();
    const payload = "X0,2:}\x03\xff";
    expect(d.feed(bytes(`$${payload}#${checksum(payload).toString(16).padStart(2, "0")}`))).toEqual([{ type: "packet", payload }]);
  });
});
