/**
 * The 80x25 text screen as the VGA shows it: characters and attributes read from text memory at
 * 0xb8000 starting at the CRTC start address, and the hardware cursor. One function builds it from
 * RAM and the VGA registers, so a live run, a replayed trace step and the TUI show the same thing.
 */
import { CP437_TO_UNICODE } from "./cp437.js";
import { TEXT_BUFFER, TEXT_COLUMNS, TEXT_ROWS } from "./vga.js";

/** Bytes of the text window 0xb8000-0xbffff (addresses wrap inside it). */
export const TEXT_WINDOW_BYTES = 0x8000;

/** What the screen needs from the VGA: its CRTC start address, cursor location and cursor enable. */
export interface TextScreenRegisters {
  startAddress(): number;
  cursorAddress(): number;
  cursorEnabled(): boolean;
}

export interface TextScreen {
  columns: number;
  rows: number;
  /** Each row as Unicode text (code page 437 glyphs), TEXT_COLUMNS characters. */
  lines: string[];
  /** Character bytes, row by row. */
  chars: Uint8Array;
  /** Attribute bytes (background << 4 | foreground, bit 7 blink), row by row. */
  attributes: Uint8Array;
  /** Where the cursor is drawn, or null when it is disabled or outside the visible screen. */
  cursor: { row: number; column: number } | null;
  /** The CRTC start address (in character cells from 0xb8000). */
  startAddress: number;
}

/** Reads the visible screen from `mem` (all of RAM, indexed by physical address). */
export function readTextScreen(mem: Uint8Array, vga: TextScreenRegisters): TextScreen {
  const cells = TEXT_COLUMNS * TEXT_ROWS;
  const chars = new Uint8Array(cells);
  const attributes = new Uint8Array(cells);
  const start = vga.startAddress();
  const inRam = mem.length >= TEXT_BUFFER + TEXT_WINDOW_BYTES;
  for (let i = 0; i < cells; i++) {
    const a = TEXT_BUFFER + (((start + i) * 2) & (TEXT_WINDOW_BYTES - 1));
    chars[i] = inRam ? mem[a] : 0;
    attributes[i] = inRam ? mem[a + 1] : 0;
  }
  const lines: string[] = [];
  for (let r = 0; r < TEXT_ROWS; r++) {
    let s = "";
    for (let c = 0; c < TEXT_COLUMNS; c++) s += CP437_TO_UNICODE[chars[r * TEXT_COLUMNS + c]];
    lines.push(s);
  }
  let cursor: TextScreen["cursor"] = null;
  const offset = vga.cursorAddress() - start;
  if (vga.cursorEnabled() && offset >= 0 && offset < cells) cursor = { row: Math.floor(offset / TEXT_COLUMNS), column: offset % TEXT_COLUMNS };
  return { columns: TEXT_COLUMNS, rows: TEXT_ROWS, lines, chars, attributes, cursor, startAddress: start };
}

/** A copy of the text window, to tell later whether the guest wrote to the screen. */
export function snapshotTextWindow(mem: Uint8Array): Uint8Array {
  return mem.slice(TEXT_BUFFER, Math.min(mem.length, TEXT_BUFFER + TEXT_WINDOW_BYTES));
}

/** Whether the text window differs from `snapshot`. */
export function textWindowChanged(mem: Uint8Array, snapshot: Uint8Array): boolean {
  const now = mem.subarray(TEXT_BUFFER, TEXT_BUFFER + snapshot.length);
  for (let i = 0; i < snapshot.length; i++) if (now[i] !== snapshot[i]) return true;
  return false;
}

/**
 * The screen as plain text: rows without trailing blanks, and without the blank rows below the
 * last written row and the cursor.
 */
export function screenText(screen: TextScreen): string[] {
  const rows = screen.lines.map((l) => l.replace(/\s+$/u, ""));
  let last = rows.length - 1;
  while (last >= 0 && rows[last] === "" && (screen.cursor === null || screen.cursor.row < last)) last--;
  return rows.slice(0, last + 1);
}

/** One line describing where the cursor is ("cursor at row 3, column 12" or "cursor hidden"), 1-based. */
export function describeCursor(screen: TextScreen): string {
  return screen.cursor === null ? "cursor hidden" : `cursor at row ${screen.cursor.row + 1}, column ${screen.cursor.column + 1}`;
}
