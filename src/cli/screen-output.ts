/**
 * The VGA text screen at the end of `ttd run` / `ttd record`, and the `--screen` option both share.
 * By default the screen is printed only when the guest wrote to text memory (so serial-only guests
 * print exactly what they printed before); `--screen` prints it always, `--no-screen` never.
 */
import type { Machine } from "../machine/machine.js";
import { describeCursor, readTextScreen, screenText, snapshotTextWindow, textWindowChanged, type TextScreen } from "../machine/text-screen.js";

export type ScreenWhen = "auto" | "always" | "never";

export const SCREEN_OPTION_HELP = "print the VGA text screen at the end even if the guest never wrote to it (by default it is printed only if it did)";
export const NO_SCREEN_OPTION_HELP = "never print the VGA text screen";

/**
 * `--screen` / `--no-screen` as commander gives them: true, false, or undefined when neither was
 * given. Both are plain flags (no value), so `ttd run --screen kernel.elf` reads as it looks.
 */
export function parseScreenWhen(value: boolean | undefined): ScreenWhen {
  return value === undefined ? "auto" : value ? "always" : "never";
}

/** Watches a machine's text memory from now on, to print the screen at the end if asked or changed. */
export class ScreenReport {
  private readonly before: Uint8Array;

  constructor(private readonly machine: Machine, private readonly when: ScreenWhen) {
    this.before = when === "auto" ? snapshotTextWindow(machine.mem.u8) : new Uint8Array(0);
  }

  /** The text to print after the run ("" when nothing is to be shown). */
  text(): string {
    if (this.when === "never") return "";
    if (this.when === "auto" && !textWindowChanged(this.machine.mem.u8, this.before)) return "";
    return formatScreen(readTextScreen(this.machine.mem.u8, this.machine.vga), "at the end of the run");
  }
}

/** The screen between two rulers, headed by where its cursor is. */
export function formatScreen(screen: TextScreen, when: string): string {
  const head = `--- VGA text screen ${when} (${screen.columns}x${screen.rows}, ${describeCursor(screen)}) ---`;
  return [head, ...screenText(screen), "-".repeat(head.length)].join("\n") + "\n";
}
