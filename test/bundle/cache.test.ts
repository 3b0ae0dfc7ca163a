/** The bundle cache stays bounded: the most recently used extractions are kept, abandoned temporaries go. */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { KEEP_BUNDLES, prune } from "../../src/bundle/cache.js";
import { tmpDir } from "./helpers.js";

const base = tmpDir("ttd-cache-test-");
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

function extraction(id: string, usedSecondsAgo: number): void {
  fs.mkdirSync(path.join(base, id, "files"), { recursive: true });
  const rec = path.join(base, id, "extracted.json");
  fs.writeFileSync(rec, "{}");
  const t = new Date(Date.now() - usedSecondsAgo * 1000);
  fs.utimesSync(rec, t, t);
}

describe("prune", () => {
  it("keeps the most recently used extractions and the new one, and only removes what it made", () => {
    const ids = Array.from({ length: KEEP_BUNDLES + 5 }, (_, i) => i.toString(16).padStart(64, "0"));
    // ids[0] is the most recently used, ids[last] the least.
    ids.forEach((id, i) => extraction(id, 100 + i * 10));
    const fresh = "f".repeat(64);
    extraction(fresh, 100_000); // the extraction just made: kept whatever its record says
    fs.mkdirSync(path.join(base, ".tmp-stale"));
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(path.join(base, ".tmp-stale"), old, old);
    fs.mkdirSync(path.join(base, ".tmp-running"));
    fs.mkdirSync(path.join(base, "not-ours"));

    prune(base, fresh);

    const left = new Set(fs.readdirSync(base));
    expect(left.has(fresh)).toBe(true);
    for (const id of ids.slice(0, KEEP_BUNDLES - 1)) expect(left.has(id), `recently used ${id}`).toBe(true);
    for (const id of ids.slice(KEEP_BUNDLES - 1)) expect(left.has(id), `least used ${id}`).toBe(false);
    expect(left.has(".tmp-stale")).toBe(false);
    expect(left.has(".tmp-running")).toBe(true);
    expect(left.has("not-ours")).toBe(true);
  });
});
