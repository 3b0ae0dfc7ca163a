/**
 * float-text against the C library's printf: random and special bit patterns of float, double and
 * x87 extended, printed by a small C program with %.9g, %.17g and %.21Lg, must equal ours exactly.
 */
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatExtended, formatFloatBytes } from "../../src/symbols/float-text.js";

const ORACLE = String.raw`
#include <stdio.h>
#include <string.h>
#include <stdint.h>
int main(void) {
  char kind[8]; unsigned long long a; unsigned b;
  while (scanf("%7s %llx %x", kind, &a, &b) == 3) {
    if (kind[0] == 'f') { uint32_t x = (uint32_t)a; float f; memcpy(&f, &x, 4); printf("%.9g\n", f); }
    else if (kind[0] == 'd') { double d; memcpy(&d, &a, 8); printf("%.17g\n", d); }
    else { unsigned char buf[16] = {0}; memcpy(buf, &a, 8); buf[8] = b & 0xff; buf[9] = b >> 8;
           long double x; memcpy(&x, buf, sizeof x < 16 ? sizeof x : 16); printf("%.21Lg\n", x); }
  }
  return 0;
}`;

const hasGcc = spawnSync("gcc", ["--version"]).status === 0;

/** A deterministic generator (xorshift32), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
}

describe.skipIf(!hasGcc)("float-text equals printf %.Ng", () => {
  it("matches glibc on float, double and extended bit patterns", () => {
    if (!hasGcc) console.log("gcc not found: printf comparison skipped");
    const dir = mkdtempSync(join(tmpdir(), "ttd-float-text-"));
    try {
      writeFileSync(join(dir, "oracle.c"), ORACLE);
      execFileSync("gcc", ["-O1", "-o", join(dir, "oracle"), join(dir, "oracle.c")]);
      const next = rng(12345);
      const lines: string[] = [];
      const ours: string[] = [];
      const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
      const addFloat = (x: number) => {
        lines.push(`f ${hex(x)} 0`);
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, x >>> 0, true);
        ours.push(formatFloatBytes(b)!);
      };
      const addDouble = (hi: number, lo: number) => {
        lines.push(`d ${hex(hi)}${hex(lo)} 0`);
        const b = new Uint8Array(8);
        const v = new DataView(b.buffer);
        v.setUint32(0, lo >>> 0, true);
        v.setUint32(4, hi >>> 0, true);
        ours.push(formatFloatBytes(b)!);
      };
      const addExtended = (hi: number, lo: number, se: number) => {
        lines.push(`x ${hex(hi)}${hex(lo)} ${(se & 0xffff).toString(16)}`);
        ours.push(formatExtended(lo, hi, se));
      };
      for (const x of [0, 0x80000000, 1, 0x7f7fffff, 0x00800000, 0x3f800000, 0x3f8ccccd, 0x7f800000, 0xff800000, 0x7fc00000]) addFloat(x);
      for (const [hi, lo] of [[0, 0], [0x80000000, 0], [0, 1], [0x7fefffff, 0xffffffff], [0x3ff19999, 0x9999999a], [0x7ff00000, 0], [0x7ff80000, 0], [0x43300000, 0]]) addDouble(hi, lo);
      for (const [hi, lo, se] of [[0x80000000, 0, 0x3fff], [0x8ccccccc, 0xcccccccd, 0x3fff], [0, 1, 0], [0x80000000, 0, 0x7fff], [0xc0000000, 0, 0xffff], [0xffffffff, 0xffffffff, 0x7ffe], [0x80000000, 0, 0x0001], [0x80000000, 0, 0]]) addExtended(hi, lo, se);
      for (let i = 0; i < 3000; i++) {
        const r = next();
        // Bias exponents toward the ranges where fixed and exponential notation meet.
        addFloat(i % 3 === 0 ? (r & 0x807fffff) | (((next() % 60) + 100) << 23) : r);
        const hi = next(), lo = next();
        addDouble(i % 3 === 0 ? (hi & 0x800fffff) | (((next() % 120) + 960) << 20) : hi, lo);
        let se = next() & 0xffff;
        if (i % 3 === 0) se = (se & 0x8000) | (16383 - 30 + (next() % 90));
        addExtended((next() | (i % 7 === 0 ? 0 : 0x80000000)) >>> 0, next(), se);
      }
      const out = execFileSync(join(dir, "oracle"), { input: lines.join("\n") + "\n", maxBuffer: 1 << 24 }).toString().trim().split("\n");
      expect(out.length).toBe(ours.length);
      let mismatches = 0;
      for (let i = 0; i < ours.length; i++) {
        if (out[i] !== ours[i]) {
          if (mismatches++ < 10) console.log(`${lines[i]}: printf ${out[i]}, ours ${ours[i]}`);
        }
      }
      expect(mismatches).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
