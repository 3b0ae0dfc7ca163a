/** The latest line of guest output that record's progress shows (src/text/latest-line.ts). */
import { describe, expect, test } from "vitest";
import { fitWidth, LatestLine } from "../../src/text/latest-line.js";

function fed(text: string): LatestLine {
  const l = new LatestLine();
  for (const b of Buffer.from(text, "latin1")) l.push(b);
  return l;
}

describe("LatestLine", () => {
  test("nothing printed yet: empty", () => {
    expect(fed("").text()).toBe("");
  });

  test("the last complete line, the serial console's CR LF included", () => {
    expect(fed("[    0.000000] Linux version 6.1\r\n[    0.053247] ..TIMER: vector=0x30\r\n").text()).toBe("[    0.053247] ..TIMER: vector=0x30");
  });

  test("a line being printed wins once it has visible text (a prompt has no newline)", () => {
    expect(fed("Welcome\r\n~ # ").text()).toBe("~ #");
    expect(fed("Welcome\r\n   ").text()).toBe("Welcome");
  });

  test("blank lines do not replace the last one", () => {
    expect(fed("booting\n\n  \n").text()).toBe("booting");
  });

  test("escape sequences and control characters are left out; a lone CR starts the line again", () => {
    expect(fed("\x1b[1;32mOK\x1b[0m done\n").text()).toBe("OK done");
    expect(fed("progress 10%\rprogress 99%").text()).toBe("progress 99%");
    expect(fed("abc\x08\x08x\x07\n").text()).toBe("ax");
  });

  test("a very long line keeps its first 512 characters", () => {
    expect(fed("x".repeat(2000) + "\n").text()).toHaveLength(512);
  });
});

describe("fitWidth", () => {
  test("cuts with an ellipsis only when needed", () => {
    expect(fitWidth("abcdef", 6)).toBe("abcdef");
    expect(fitWidth("abcdefgh", 6)).toBe("abc...");
    expect(fitWidth("abcdef", 2)).toBe("ab");
  });
});
