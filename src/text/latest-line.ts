/**
 * The latest line of the guest's output, for a progress display: a long recording (a Linux boot is
 * billions of steps) shows where the guest is by what it printed last, even when stdout goes to a file.
 *
 * Bytes arrive one at a time from the serial port and the debug console, so `push` only stores the byte
 * in a fixed buffer (nothing is allocated per byte); the text is built when it is asked for. The line
 * shown is the one being printed when it has visible text (a shell prompt has no newline yet), else the
 * last complete one. Control characters and ANSI escape sequences are left out, so the text can be put
 * on a terminal's status line without moving its cursor.
 */
const MAX_LINE = 512;

export class LatestLine {
  private readonly current = new Uint8Array(MAX_LINE);
  private currentLength = 0;
  /** Visible characters in `current` (not spaces): an empty or blank line does not replace the last one. */
  private currentVisible = 0;
  private last = "";
  /** Inside an escape sequence (ESC seen): its bytes are dropped up to the final letter. */
  private escape = false;
  /** A carriage return was the last byte: unless "\n" follows, the next text rewrites the line. */
  private returned = false;

  push(b: number): void {
    if (this.escape) {
      // ESC [ ... final byte in 0x40-0x7e; a lone ESC x is two bytes.
      if (b >= 0x40 && b <= 0x7e && b !== 0x5b) this.escape = false;
      return;
    }
    if (this.returned && b !== 0x0a && b !== 0x0d) {
      this.currentLength = 0;
      this.currentVisible = 0;
    }
    this.returned = b === 0x0d;
    if (b === 0x1b) {
      this.escape = true;
    } else if (b === 0x0a) {
      if (this.currentVisible > 0) this.last = this.decode();
      this.currentLength = 0;
      this.currentVisible = 0;
    } else if (b === 0x08) {
      if (this.currentLength > 0 && this.current[--this.currentLength] !== 0x20) this.currentVisible--;
    } else if (b >= 0x20 && b !== 0x7f && this.currentLength < MAX_LINE) {
      this.current[this.currentLength++] = b;
      if (b !== 0x20) this.currentVisible++;
    }
  }

  /** The line being printed if it has visible text, else the last complete line ("" before any). */
  text(): string {
    return this.currentVisible > 0 ? this.decode() : this.last;
  }

  private decode(): string {
    return new TextDecoder("latin1").decode(this.current.subarray(0, this.currentLength)).trim();
  }
}

/** `text` cut to `width` characters, with "..." at the end when it was cut. */
export function fitWidth(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 3 ? text.slice(0, Math.max(0, width)) : text.slice(0, width - 3) + "...";
}
