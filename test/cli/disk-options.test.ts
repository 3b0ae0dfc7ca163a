// The disk options of `ttd run` and `ttd record`: QEMU's --drive syntax, and every kind of bad disk
// input gives one line naming the file or option and the problem, exit status 2, nothing written.
import { describe, expect, it, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { driveSpecs, parseDrive } from "../../src/cli/disk-options.js";
import { UsageError } from "../../src/cli/errors.js";
import { testTmpDir } from "../tmp-dirs.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "..", "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const KERNEL = join(ROOT, "src", "kernel", "build", "idle-fixed.elf");

function ttd(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("--drive parsing", () => {
  it("takes QEMU's keys, doubled commas in file names, and snapshot=off as write-back", () => {
    expect(parseDrive("file=a,,b.img,index=2,format=raw,snapshot=off,if=ide,media=disk")).toEqual({ file: "a,b.img", index: 2, writeBack: true });
    expect(parseDrive("file=x.img")).toEqual({ file: "x.img", index: -1, writeBack: false });
  });
  it("places drives without an index at the first free one, and refuses two at one index", () => {
    const s = driveSpecs({ hda: "a.img", drive: ["file=b.img", "file=c.img,index=3"] });
    expect(s.map((d) => d?.file ?? null)).toEqual(["a.img", "b.img", null, "c.img"]);
    expect(() => driveSpecs({ hdb: "a.img", drive: ["file=b.img,index=1"] })).toThrow(/index 1 is already used by a.img/);
  });
  it("refuses what it does not support, naming the option", () => {
    for (const [spec, msg] of [
      ["file=a.img,index=4", /index 4 is out of range/],
      ["file=a.img,format=qcow2", /format qcow2 is not supported/],
      ["file=a.img,snapshot=maybe", /snapshot must be on or off/],
      ["file=a.img,cache=none", /unknown option 'cache'/],
      ["index=0", /file= is missing/],
      ["file=a.img,if=scsi", /interface scsi/],
    ] as const) {
      expect(() => parseDrive(spec)).toThrow(UsageError);
      expect(() => parseDrive(spec)).toThrow(msg);
    }
  });
});

describe("bad disk input on the command line", () => {
  let dir: string;
  beforeAll(() => {
    dir = testTmpDir("ttd-disk-opts-");
    writeFileSync(join(dir, "odd.img"), new Uint8Array(1000));
    writeFileSync(join(dir, "empty.img"), new Uint8Array(0));
    mkdirSync(join(dir, "adir"));
  });

  it("one line naming the file and the problem, exit 2, for run and record, and record writes nothing", () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
    const cases: [string[], RegExp][] = [
      [["--hda", "missing.img"], /^ttd: missing\.img: no such file\n$/],
      [["--hdb", "adir"], /^ttd: adir: is a directory, not a disk image\n$/],
      [["--hda", "odd.img"], /^ttd: odd\.img: size 1000 bytes is not a multiple of 512/],
      [["--hda", "empty.img"], /^ttd: empty\.img: empty file, not a disk image\n$/],
      [["--drive", "file=odd.img,index=9"], /^ttd: --drive file=odd\.img,index=9: index 9 is out of range/],
    ];
    for (const [args, msg] of cases) {
      for (const cmd of ["run", "record"]) {
        const r = ttd(dir, cmd, KERNEL, ...args);
        expect(r.status, `${cmd} ${args.join(" ")}`).toBe(2);
        expect(r.stderr).toMatch(msg);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
    }
    expect(readdirSync(dir).sort()).toEqual(["adir", "empty.img", "odd.img"]);
  });
});
