import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { Elf32 } from "../../src/elf/elf32.js";
import { ImageCode } from "../../src/bench/disasm.js";
import {
  decodeTrace,
  encodeTrace,
  findQemu,
  imageCodeRanges,
  isRepStringAt,
  loadQemuTrace,
  QEMU_MISSING,
  QemuLogError,
  QemuLogParser,
  truncateTrace,
  type QemuTrace,
} from "../../src/bench/qemu-log.js";
import { workload } from "../guests.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const h = (v: number): string => (v >>> 0).toString(16).padStart(8, "0");

interface Rec {
  eip: number;
  /** eax ecx edx ebx esp ebp esi edi */
  regs: number[];
  efl?: number;
  cr0?: number;
}

/** One record in the exact shape QEMU 7.2 prints for `-d exec,cpu` on i386. */
function record(r: Rec, host = 0x7f3418383200): string {
  const [eax, ecx, edx, ebx, esp, ebp, esi, edi] = r.regs;
  return [
    `Trace 0: 0x${host.toString(16)} [00000000/${h(r.eip)}/000000b0/ff000201] probe_main`,
    `EAX=${h(eax)} EBX=${h(ebx)} ECX=${h(ecx)} EDX=${h(edx)}`,
    `ESI=${h(esi)} EDI=${h(edi)} EBP=${h(ebp)} ESP=${h(esp)}`,
    `EIP=${h(r.eip)} EFL=${h(r.efl ?? 0x46)} [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0`,
    "ES =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]",
    "CS =0008 00000000 ffffffff 00cf9a00 DPL=0 CS32 [-R-]",
    "SS =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]",
    "DS =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]",
    "FS =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]",
    "GS =0010 00000000 ffffffff 00cf9300 DPL=0 DS   [-WA]",
    "LDT=0000 00000000 0000ffff 00008200 DPL=0 LDT",
    "TR =0000 00000000 0000ffff 00008b00 DPL=0 TSS32-busy",
    "GDT=     000ca2b8 00000027",
    "IDT=     00000000 000003ff",
    `CR0=${h(r.cr0 ?? 0x11)} CR2=00000000 CR3=00000000 CR4=00000000`,
    "DR0=00000000 DR1=00000000 DR2=00000000 DR3=00000000 ",
    "DR6=ffff0ff0 DR7=00000400",
    "CCS=00000001 CCD=00000005 CCO=ADDL",
    "EFER=0000000000000000",
    "",
  ].join("\n");
}

const ENTRY = 0x10000c;

/** A run of distinct records starting at the entry. */
function records(n: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      eip: ENTRY + i * 3,
      regs: [i, i * 7 + 1, 0xdead0000 + i, 0x9500, 0x104000 - i * 4, 0xbeef, i ^ 0x55, 0xffffffff - i],
      efl: i & 1 ? 0x46 : 0x2,
    });
  }
  return out;
}

function parseAll(text: string, max = Infinity, chunk = text.length): QemuTrace {
  const p = new QemuLogParser(ENTRY, max);
  const buf = Buffer.from(text, "latin1");
  for (let o = 0; o < buf.length; o += chunk) {
    if (!p.push(buf.subarray(o, o + chunk))) break;
  }
  return p.end(true);
}

function expectRecords(t: QemuTrace, recs: Rec[]): void {
  expect(t.count).toBe(recs.length);
  recs.forEach((r, i) => {
    expect(t.eip[i]).toBe(r.eip);
    expect(Array.from(t.regs.subarray(i * 8, i * 8 + 8), (x) => x >>> 0)).toEqual(r.regs.map((x) => x >>> 0));
    expect(t.eflags[i]).toBe(r.efl ?? 0x46);
  });
}

describe("QEMU log parser", () => {
  test("reads registers in x86 order and skips everything before the entry in protected mode", () => {
    const recs = records(5);
    const bios: Rec = { eip: 0xfff0, regs: [0, 0, 0x663, 0, 0, 0, 0, 0], cr0: 0x60000010 };
    // The entry address also reached in real mode must not count as the start.
    const realModeEntry: Rec = { eip: ENTRY, regs: [1, 2, 3, 4, 5, 6, 7, 8], cr0: 0x10 };
    const t = parseAll(record(bios) + record(realModeEntry) + recs.map((r) => record(r)).join(""));
    expectRecords(t, recs);
    expect(t.entry).toBe(ENTRY);
    expect(t.complete).toBe(true);
  });

  test("gives the same records whatever the chunk boundaries", () => {
    const recs = records(40);
    const text = recs.map((r) => record(r)).join("");
    for (const chunk of [1, 7, 64, 1000, 4096]) {
      expectRecords(parseAll(text, Infinity, chunk), recs);
    }
  });

  test("drops a record QEMU logged for a block it then left without executing", () => {
    const recs = records(4);
    const text =
      record(recs[0]) + record(recs[1]) +
      `Stopped execution of TB chain before 0x7f3418385bc0 [${h(recs[2].eip)}] probe_main\n` +
      record(recs[2]) + record(recs[3]);
    // A stop must name the block logged just before it; naming another one means the log is not
    // shaped as expected, and guessing which record to drop would misalign the comparison.
    expect(() => parseAll(text)).toThrow(QemuLogError);

    const good =
      record(recs[0]) + record(recs[1]) +
      `Stopped execution of TB chain before 0x7f3418385bc0 [${h(recs[1].eip)}] probe_main\n` +
      record(recs[1]) + record(recs[2]) + record(recs[3]);
    const t = parseAll(good);
    expectRecords(t, recs);
    expect(t.droppedRepeats).toBe(1);
  });

  test("ignores the register dumps that -d int prints for an interrupt", () => {
    const recs = records(3);
    const intDump =
      "Servicing hardware INT=0x20\n" +
      "     2: v=20 e=0000 i=0 cpl=0 IP=0008:001000b9 pc=001000b9 SP=0010:001010f0 env->regs[R_EAX]=00000010\n" +
      "EAX=11111111 EBX=22222222 ECX=33333333 EDX=44444444\n" +
      "ESI=55555555 EDI=66666666 EBP=77777777 ESP=88888888\n" +
      "EIP=99999999 EFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0\n" +
      "CR0=00000011 CR2=00000000 CR3=00000000 CR4=00000000\n";
    const t = parseAll(record(recs[0]) + record(recs[1]) + intDump + record(recs[2]));
    expectRecords(t, recs);
  });

  test("stops at maxRecords and then reports the trace as incomplete", () => {
    const recs = records(10);
    const p = new QemuLogParser(ENTRY, 4);
    const more = p.push(Buffer.from(recs.map((r) => record(r)).join(""), "latin1"));
    expect(more).toBe(false);
    expect(p.full).toBe(true);
    const t = p.end(true);
    expectRecords(t, recs.slice(0, 4));
    expect(t.complete).toBe(false);
  });

  test("a record without its register lines is an error, not a zero", () => {
    const text = `Trace 0: 0x7f00 [00000000/${h(ENTRY)}/000000b0/ff000201] \nEIP=${h(ENTRY)} EFL=00000002 [-------]\n`;
    expect(() => parseAll(text)).toThrow(/lacks register lines/);
  });

  test("take() hands the records out as they are parsed, the same ones a whole parse gives", () => {
    const recs = records(50);
    const buf = Buffer.from(recs.map((r) => record(r)).join(""), "latin1");
    for (const chunk of [1, 13, 500, 4096]) {
      const p = new QemuLogParser(ENTRY, Infinity);
      const eips: number[] = [];
      const regs: number[] = [];
      // The chunks come from one reused buffer, as the FIFO reader passes them.
      const scratch = new Uint8Array(chunk);
      for (let o = 0; o < buf.length; o += chunk) {
        const n = Math.min(chunk, buf.length - o);
        scratch.set(buf.subarray(o, o + n));
        p.push(scratch.subarray(0, n));
        const t = p.take();
        eips.push(...t.eip);
        regs.push(...Array.from(t.regs, (x) => x >>> 0));
        scratch.fill(0x41);
      }
      const rest = p.end(true);
      eips.push(...rest.eip);
      regs.push(...Array.from(rest.regs, (x) => x >>> 0));
      expect(eips).toEqual(recs.map((r) => r.eip));
      expect(regs).toEqual(recs.flatMap((r) => r.regs.map((x) => x >>> 0)));
      expect(p.records).toBe(50);
    }
  });

  test("the -icount rep re-entry (ECX 1 then 0 at one address) is dropped only at a rep string instruction when told which", () => {
    const base = records(3);
    const at = (ecx: number): Rec => ({ ...base[1], regs: base[1].regs.map((r, i) => (i === 1 ? ecx : r)) });
    const text = record(base[0]) + record(at(1)) + record(at(0)) + record(base[2]);
    // Every instruction logged: a repeat of the address is always the re-entry.
    expect(parseAll(text).count).toBe(3);
    // Some instructions logged: two records at one address can be two turns of a loop.
    const p = new QemuLogParser(ENTRY, Infinity);
    p.repStrings = new Set([0x1234]);
    p.push(Buffer.from(text, "latin1"));
    expect(p.end(true).count).toBe(4);
    const q = new QemuLogParser(ENTRY, Infinity);
    q.repStrings = new Set([base[1].eip]);
    q.push(Buffer.from(text, "latin1"));
    expect(q.end(true).count).toBe(3);
  });

  test("isRepStringAt knows rep string instructions through their prefixes", () => {
    const code = (...b: number[]) => new Uint8Array(b);
    expect(isRepStringAt(code(0xf3, 0xa4), 0)).toBe(true); // rep movsb
    expect(isRepStringAt(code(0xf3, 0x66, 0xab), 0)).toBe(true); // rep stosw
    expect(isRepStringAt(code(0x66, 0xf3, 0xa5), 0)).toBe(true);
    expect(isRepStringAt(code(0xf2, 0xae), 0)).toBe(true); // repne scasb
    expect(isRepStringAt(code(0x90, 0xf3, 0xa4), 1)).toBe(true);
    expect(isRepStringAt(code(0xa4), 0)).toBe(false); // movsb without rep
    expect(isRepStringAt(code(0xf3, 0x90), 0)).toBe(false); // pause
    expect(isRepStringAt(code(0xf3, 0x0f, 0xb8, 0xc0), 0)).toBe(false); // popcnt
  });

  test("a log that never reaches the entry is an error", () => {
    const bios: Rec = { eip: 0xfff0, regs: [0, 0, 0, 0, 0, 0, 0, 0], cr0: 0x60000010 };
    expect(() => parseAll(record(bios))).toThrow(/never reached the kernel entry 0x10000c/);
  });

  test("cache encoding round-trips and truncation keeps a prefix", () => {
    const recs = records(25);
    const t = parseAll(recs.map((r) => record(r)).join(""));
    const back = decodeTrace(encodeTrace(t));
    expect(back.count).toBe(25);
    expect(back.complete).toBe(true);
    expectRecords(back, recs);
    const cut = truncateTrace(back, 10);
    expect(cut.complete).toBe(false);
    expectRecords(cut, recs.slice(0, 10));
    expect(() => decodeTrace(Buffer.from("not a trace"))).toThrow();
  });
});

describe("QEMU itself", () => {
  test("the workload guest's executable segment becomes the -dfilter range", () => {
    const elf = new Elf32(new Uint8Array(fs.readFileSync(workload("workload-r1.elf"))));
    const text = elf.programHeaders.find((p) => p.type === 1 && (p.flags & 1) !== 0)!;
    expect(imageCodeRanges(elf)).toBe(`0x100000+0x${text.memsz.toString(16)}`);
    expect(imageCodeRanges(elf)).toBe("0x100000+0x561");
  });

  test("records workload-r1 from its entry: the loader's registers, then the zeroing prologue", async () => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING} (CI installs it)`);
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "ttd-qlog-test-"));
    try {
      const elfPath = workload("workload-r1.elf");
      const { trace, fromCache } = await loadQemuTrace(elfPath, { maxRecords: 14, cacheDir });
      expect(fromCache).toBe(false);
      expect(trace.count).toBe(14);
      expect(trace.eip[0]).toBe(0x10000c);
      expect(trace.regs[0] >>> 0).toBe(0x2badb002); // multiboot magic in EAX at the entry
      // entry.S zeroes all eight registers, loads ESP, sets EFLAGS to 0x2 and calls workload_main.
      const elf = new Elf32(new Uint8Array(fs.readFileSync(elfPath)));
      const sym = (name: string): number => elf.symbols().find((s) => s.name === name)!.value;
      expect(Array.from(trace.eip.subarray(0, 13))).toEqual([
        0x10000c, 0x10000e, 0x100010, 0x100012, 0x100014, 0x100016, 0x100018, 0x10001a, 0x10001c, 0x100021, 0x100023, 0x100024,
        sym("workload_main"),
      ]);
      expect(Array.from(trace.regs.subarray(8 * 8, 8 * 8 + 8), (x) => x >>> 0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      expect(Array.from(trace.regs.subarray(12 * 8, 12 * 8 + 8), (x) => x >>> 0)).toEqual([0, 0, 0, 0, sym("stack_end") - 4, 0, 0, 0]);
      expect(trace.eflags[12]).toBe(0x2);
      const again = await loadQemuTrace(elfPath, { maxRecords: 8, cacheDir });
      expect(again.fromCache).toBe(true);
      expect(Array.from(again.trace.eip)).toEqual(Array.from(trace.eip.subarray(0, 8)));
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);

  test("logs one record per rep iteration, one for a zero count, none for deliveries", async () => {
    if (!findQemu()) throw new Error(`${QEMU_MISSING} (CI installs it)`);
    const elfPath = path.join(here, "fixtures/events.elf");
    const code = new ImageCode(new Elf32(new Uint8Array(fs.readFileSync(elfPath))));
    const { trace } = await loadQemuTrace(elfPath, { maxRecords: Infinity, cacheDir: null });
    expect(trace.complete).toBe(true);
    const text = Array.from(trace.eip, (eip) => code.disassemble(eip));
    const runOf = (mnemonic: string): { first: number; length: number } => {
      const first = text.findIndex((t) => t.startsWith(mnemonic));
      expect(first).toBeGreaterThanOrEqual(0);
      let length = 1;
      while (trace.eip[first + length] === trace.eip[first]) length++;
      return { first, length };
    };
    const ecx = (j: number): number => trace.regs[j * 8 + 1];
    const movsb = runOf("rep movsb");
    expect(movsb.length).toBe(5);
    expect([0, 1, 2, 3, 4].map((k) => ecx(movsb.first + k))).toEqual([5, 4, 3, 2, 1]);
    expect(ecx(movsb.first + 5)).toBe(0);
    expect(runOf("rep stos").length).toBe(1); // ECX = 0
    expect(runOf("repe cmpsb").length).toBe(5); // stops at the fifth byte
    // ud2 is followed directly by its handler's first instruction: the delivery has no record.
    const ud2 = text.indexOf("ud2");
    expect(code.symbolize(trace.eip[ud2 + 1])).toBe("h_ud");
  }, 120_000);
});
