// `ttd print` on the shipped demo bundle: values as the trace holds them at the step (checked against
// the trace's memory directly), locals of the code at that step, JSON, and bad expressions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { openRecording, type Recording } from "../../src/bundle/open.js";
import { documentedFields } from "../query/helpers.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const BUNDLE = join(ROOT, "traces", "idle-bug.ttdb");

function ttd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Printed {
  expression: string;
  step: number;
  type: string;
  address: string | null;
  register: string | null;
  size: number;
  value: string | null;
  bytes: string | null;
  error: string | null;
}

describe("ttd print", () => {
  let rec: Recording;
  let fault: number;
  beforeAll(() => {
    rec = openRecording(BUNDLE);
    fault = rec.trace.events().find((e) => e.kind === "fault")!.step;
  });
  afterAll(() => rec.close());

  it("prints a global pointer as it was at the step, with its type and address, and JSON with its bytes", () => {
    const r = ttd("print", "ksCurThread", "--trace", BUNDLE, "--at", "fault", "--json");
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Printed;
    const address = rec.symbols!.variable("ksCurThread")!.address!;
    const mem = rec.trace.stateAt(fault).readLinear(address, 4)!;
    expect(j).toMatchObject({ expression: "ksCurThread", step: fault, type: "tcb_t *", address: `0x${address.toString(16)}`, size: 4, register: null, error: null });
    expect(j.bytes).toBe(Buffer.from(mem).toString("hex"));
    // Exactly the documented fields.
    expect(Object.keys(j).sort()).toEqual(documentedFields("print: the answer"));
    const pointer = new DataView(mem.buffer, mem.byteOffset).getUint32(0, true);
    expect(j.value).toBe(`0x${pointer.toString(16)} <ksIdleThreadTCB+0x400>`);
    const text = ttd("print", "ksCurThread", "--trace", BUNDLE, "--at", "fault");
    expect(text.stdout).toBe(`ksCurThread  (tcb_t * at 0x${address.toString(16)}, 4 bytes) at step ${fault}\n  = ${j.value}\n`);
  });

  it("prints structs member by member, and a local of the code at the step", () => {
    const s = ttd("print", "ksIdleThread->tcbState", "--trace", BUNDLE, "--at", "fault", "--hex");
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/^ksIdleThread->tcbState {2}\(thread_state_t at 0x[0-9a-f]+, 12 bytes\) at step \d+\n {2}= \{\n {6}words = \{/);
    const r = rec.symbols!.allLocals().find((l) => l.name === "r" && l.functionName === "restore_user_context")!;
    const low = (r.location as { list: { entries: { low: number }[] } }).list.entries[0].low;
    const at = rec.trace.findInstruction([low], rec.trace.startStep, rec.trace.steps, "last")!;
    const viaLocal = JSON.parse(ttd("print", "r[Error]", "--trace", BUNDLE, "--at", String(at), "--json").stdout) as Printed;
    const viaGlobal = JSON.parse(ttd("print", "ksCurThread->tcbArch.tcbContext.registers[Error]", "--trace", BUNDLE, "--at", String(at), "--json").stdout) as Printed;
    expect(viaLocal.address).toBe(viaGlobal.address);
    expect(viaLocal.value).toBe(viaGlobal.value);
  });

  it("a bad expression is bad input: exit 2, the expression underlined", () => {
    const r = ttd("print", "ksIdleThread->nosuch", "--trace", BUNDLE);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("ttd: no member `nosuch` in `struct tcb`\nksIdleThread->nosuch\n              ^^^^^^\n");
    expect(r.stdout).toBe("");
  });
});
