/**
 * Characters as a US keyboard types them, in scan code set 1 (what the guest reads from port 0x60
 * while the 8042 translates, the default): the key's make code, its break code (make | 0x80), with
 * Shift or Ctrl held around it where the character needs one. Bytes no key produces (most of
 * 0x80-0xff) have no key event.
 */

const LEFT_SHIFT = 0x2a;
const LEFT_CTRL = 0x1d;
const ENTER = 0x1c;
const BACKSPACE = 0x0e;
const TAB = 0x0f;
const ESCAPE = 0x01;
const BREAK = 0x80;

/** Unshifted and shifted characters of each key, by make code. */
const KEYS: [number, string, string][] = [
  [0x02, "1", "!"], [0x03, "2", "@"], [0x04, "3", "#"], [0x05, "4", "$"], [0x06, "5", "%"], [0x07, "6", "^"],
  [0x08, "7", "&"], [0x09, "8", "*"], [0x0a, "9", "("], [0x0b, "0", ")"], [0x0c, "-", "_"], [0x0d, "=", "+"],
  [0x10, "q", "Q"], [0x11, "w", "W"], [0x12, "e", "E"], [0x13, "r", "R"], [0x14, "t", "T"], [0x15, "y", "Y"],
  [0x16, "u", "U"], [0x17, "i", "I"], [0x18, "o", "O"], [0x19, "p", "P"], [0x1a, "[", "{"], [0x1b, "]", "}"],
  [0x1e, "a", "A"], [0x1f, "s", "S"], [0x20, "d", "D"], [0x21, "f", "F"], [0x22, "g", "G"], [0x23, "h", "H"],
  [0x24, "j", "J"], [0x25, "k", "K"], [0x26, "l", "L"], [0x27, ";", ":"], [0x28, "'", "\""], [0x29, "`", "~"],
  [0x2b, "\\", "|"], [0x2c, "z", "Z"], [0x2d, "x", "X"], [0x2e, "c", "C"], [0x2f, "v", "V"], [0x30, "b", "B"],
  [0x31, "n", "N"], [0x32, "m", "M"], [0x33, ",", "<"], [0x34, ".", ">"], [0x35, "/", "?"], [0x39, " ", " "],
];

/** The key event of each byte (null: none), built once. */
const TABLE: (Uint8Array | null)[] = buildTable();

function press(make: number, modifier?: number): Uint8Array {
  return modifier === undefined
    ? Uint8Array.of(make, make | BREAK)
    : Uint8Array.of(modifier, make, make | BREAK, modifier | BREAK);
}

function buildTable(): (Uint8Array | null)[] {
  const t: (Uint8Array | null)[] = new Array(256).fill(null);
  const letterMake = new Map<string, number>();
  for (const [make, plain, shifted] of KEYS) {
    t[plain.charCodeAt(0)] = press(make);
    if (shifted !== plain) t[shifted.charCodeAt(0)] = press(make, LEFT_SHIFT);
    if (/[a-z]/.test(plain)) letterMake.set(plain, make);
  }
  // Control characters a terminal sends for Ctrl+letter, except those with keys of their own.
  for (const [letter, make] of letterMake) t[letter.charCodeAt(0) - 0x60] = press(make, LEFT_CTRL);
  t[0x0d] = press(ENTER);
  t[0x0a] = press(ENTER);
  t[0x08] = press(BACKSPACE);
  t[0x7f] = press(BACKSPACE);
  t[0x09] = press(TAB);
  t[0x1b] = press(ESCAPE);
  return t;
}

/** The set 1 bytes of typing `byte` (a character), or null when no key types it. */
export function keyEventFor(byte: number): Uint8Array | null {
  return TABLE[byte & 0xff];
}
