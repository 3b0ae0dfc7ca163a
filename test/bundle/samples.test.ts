/**
 * The sample bundles in traces/: they open, they are up to date with the kernel images and sources in
 * src/kernel, and they answer the question the project exists for, from inside the bundle alone.
 * When this fails after a kernel change, regenerate them: npm run build && node dist/bundle/make-samples.js
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { openRecording, type Recording } from "../../src/bundle/open.js";
import { ERROR_SLOT_OFFSET, kernelImage, REPO, tmpDir } from "./helpers.js";

const REGENERATE = "regenerate with: npm run build && node dist/bundle/make-samples.js";
const cache = tmpDir("ttd-bundle-samples-cache-");

afterAll(() => {
  fs.rmSync(cache, { recursive: true, force: true });
});

function withSample<T>(name: string, fn: (rec: Recording) => T): T {
  const rec = openRecording(path.join(REPO, "traces", `${name}.ttdb`), { cacheDir: cache });
  try {
    return fn(rec);
  } finally {
    rec.close();
  }
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function errorSlot(rec: Recording): number {
  return rec.symbols!.variable("ksIdleThreadTCB")!.address! + ERROR_SLOT_OFFSET;
}

for (const name of ["idle-bug", "idle-fixed"]) {
  describe(`traces/${name}.ttdb`, () => {
    it("opens as a bundle, with symbols and every source file", () => {
      withSample(name, (rec) => {
        expect(rec.kind).toBe("bundle");
        expect(rec.symbols).not.toBeNull();
        expect(rec.symbols!.hasLines).toBe(true);
        expect(rec.sources.missing).toEqual([]);
        expect(rec.sources.files).toContain("src/kernel/idle.c");
        expect(rec.trace.complete).toBe(true);
        expect(rec.bundle!.note).toMatch(/idle_thread/);
      });
    });

    it("is up to date with src/kernel (the image and the sources)", () => {
      withSample(name, (rec) => {
        const current = sha256(fs.readFileSync(kernelImage(name)));
        expect(rec.image.sha256, `traces/${name}.ttdb holds an older ${name}.elf; ${REGENERATE}`).toBe(current);
        expect(rec.trace.info().image.sha256, `the trace in traces/${name}.ttdb was recorded from an older image; ${REGENERATE}`).toBe(current);
        for (const f of rec.sources.files) {
          const disk = fs.readFileSync(path.join(REPO, f), "utf8");
          expect(rec.sources.get(f)!.text, `${f} changed since traces/${name}.ttdb was packed; ${REGENERATE}`).toBe(disk);
        }
      });
    });
  });
}

describe("the questions, answered from inside the bundles", () => {
  it("idle-bug: registers[Error] was last written by the #GP frame, and before that by the timer frame taken in idle_thread", () => {
    withSample("idle-bug", (rec) => {
      const symbols = rec.symbols!;
      const trace = rec.trace;
      const gp = trace.events().find((e) => e.kind === "exception" && e.vector === 13);
      expect(gp).toBeDefined();
      expect(gp!.errorCode).toBe(0x200);
      const slot = errorSlot(rec);
      // Last write before the end: the #GP delivery itself pushing its frame over the slot.
      const last = trace.lastWrite({ address: slot, size: 4 }, trace.steps)!;
      expect(last.step).toBe(gp!.step);
      expect(last.cause).toBe("interrupt-frame");
      // The one before: the idle thread's timer interrupt, whose frame landed one slot low.
      const culprit = trace.lastWrite({ address: slot, size: 4 }, last.step)!;
      expect(culprit.cause).toBe("interrupt-frame");
      expect(symbols.functionAt(culprit.eip)!.function.name).toBe("idle_thread");
      expect(symbols.functionAt(culprit.newValue)!.function.name).toBe("idle_thread");
      const loc = symbols.sourceAt(culprit.eip)!;
      expect(loc.file).toBe("src/kernel/idle.c");
      const text = rec.sources.line(loc.file, loc.line);
      expect(text).toBe(fs.readFileSync(path.join(REPO, "src/kernel/idle.c"), "utf8").split("\n")[loc.line - 1]);
      // The bookmarks packed with it point at the same steps.
      const bm = new Map(rec.bookmarks().map((b) => [b.name, b.step]));
      expect(bm.get("gp-fault")).toBe(gp!.step);
      expect(bm.get("error-slot-overwritten")).toBe(culprit.step);
    });
  });

  it("idle-fixed: no #GP; registers[Error] was last written by the timer stub's push of 0", () => {
    withSample("idle-fixed", (rec) => {
      const symbols = rec.symbols!;
      const trace = rec.trace;
      expect(trace.events().some((e) => e.kind === "exception" && e.vector === 13)).toBe(false);
      const out = trace.output().map((o) => String.fromCharCode(o.byte)).join("");
      expect(out).toContain("ALL OK");
      const last = trace.lastWrite({ address: errorSlot(rec), size: 4 }, trace.steps)!;
      expect(last.cause).toBe("instruction");
      expect(last.newValue).toBe(0);
      const loc = symbols.sourceAt(last.eip)!;
      expect(loc.file).toBe("src/kernel/traps.S");
      expect(rec.sources.line(loc.file, loc.line)).toMatch(/INT_HANDLER 157/);
    });
  });
});
