/**
 * Keys typed at a terminal in raw mode, split into what goes to the guest and the escape commands
 * QEMU's `-serial stdio` monitor mux knows: Ctrl-A x stops, Ctrl-A h prints help, Ctrl-A Ctrl-A sends
 * one Ctrl-A to the guest. Any other key after Ctrl-A is dropped, as QEMU does.
 */

export const ESCAPE_KEY = 0x01;

export type TerminalCommand = "exit" | "help";

export const ESCAPE_HELP = [
  "Ctrl-A h    print this help",
  "Ctrl-A x    stop (a recording is finalized and stays valid)",
  "Ctrl-A C-a  send Ctrl-A to the guest",
];

export class TerminalKeys {
  private afterEscape = false;

  /** Splits a chunk of typed bytes into bytes for the guest and commands, in order. */
  feed(chunk: Uint8Array, onBytes: (bytes: Uint8Array) => void, onCommand: (c: TerminalCommand) => void): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.afterEscape) {
        this.afterEscape = false;
        start = i + 1;
        if (b === ESCAPE_KEY) onBytes(Uint8Array.of(ESCAPE_KEY));
        else if (b === 0x78 /* x */ || b === 0x58) onCommand("exit");
        else if (b === 0x68 /* h */ || b === 0x48 || b === 0x3f) onCommand("help");
        continue;
      }
      if (b === ESCAPE_KEY) {
        if (i > start) onBytes(chunk.subarray(start, i));
        this.afterEscape = true;
        start = i + 1;
      }
    }
    if (!this.afterEscape && start < chunk.length) onBytes(chunk.subarray(start));
  }
}
