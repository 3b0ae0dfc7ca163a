/** Stored names: what may reach the file system when a bundle is extracted. */
import { describe, expect, it } from "vitest";
import { checkEntryName, elfEntryName, sourceEntryName } from "../../src/bundle/names.js";

describe("checkEntryName", () => {
  it("accepts plain relative paths", () => {
    for (const n of ["trace/trace.sqlite", "image/idle-bug.elf", "sources/src/kernel/idle.c", "sources/_root/usr/include/stdint.h", "a", "sources/.hidden/x.c"]) {
      expect(checkEntryName(n)).toBeNull();
    }
  });

  it("refuses everything that could leave the folder or mean something else elsewhere", () => {
    const cases: [string, RegExp][] = [
      ["", /empty name/],
      ["/etc/passwd", /absolute path/],
      ["../x", /'\.\.' path component/],
      ["a/../../x", /'\.\.' path component/],
      ["a/./x", /'\.' path component/],
      ["a//x", /empty path component/],
      ["a/", /empty path component/],
      ["a\\..\\x", /backslash/],
      ["a\0b", /NUL/],
      ["C:x", /drive letter/],
      ["a/\u001b[31mred", /control character/],
      ["sources/con.c", /reserved device name/],
      ["sources/x.", /ends with a dot or a space/],
      ["sources/a:b", /not allowed in file names on Windows/],
      ["a/" + "x".repeat(300), /longer than 255/],
      ["x/".repeat(600) + "x", /longer than 1024/],
    ];
    for (const [name, why] of cases) expect(checkEntryName(name), JSON.stringify(name)).toMatch(why);
  });
});

describe("sourceEntryName", () => {
  it("keeps relative paths, roots absolute ones, and makes every result safe", () => {
    expect(sourceEntryName("src/kernel/idle.c")).toBe("sources/src/kernel/idle.c");
    expect(sourceEntryName("./src//kernel/idle.c")).toBe("sources/src/kernel/idle.c");
    expect(sourceEntryName("/usr/include/stdint.h")).toBe("sources/_root/usr/include/stdint.h");
    expect(sourceEntryName("../lib/x.h")).toBe("sources/_up/lib/x.h");
    expect(sourceEntryName("C:\\src\\a.c")).toBe("sources/_root/src/a.c");
    expect(sourceEntryName("a/con/b:c.c")).toBe("sources/a/_con/b_c.c");
    for (const p of ["../../../etc/passwd", "/..", "a/\0/b", "..\\..\\x", "", "...", "a/ .", "x".repeat(400)]) {
      expect(checkEntryName(sourceEntryName(p)), p).toBeNull();
    }
  });

  it("elfEntryName keeps the file name only", () => {
    expect(elfEntryName("idle-bug.elf")).toBe("image/idle-bug.elf");
    expect(elfEntryName("/a/b/../k.elf")).toBe("image/k.elf");
    expect(elfEntryName("..")).toBe("image/kernel.elf");
    expect(elfEntryName("")).toBe("image/kernel.elf");
  });
});
