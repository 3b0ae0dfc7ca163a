/**
 * The VGA text screen as it was at a step of a recording: text memory is RAM (recorded like any
 * other memory) and the CRTC registers are in every keyframe, so replaying to the step rebuilds both.
 * Shared by `ttd screen` and the TUI's Screen panel.
 */
import { readTextScreen, type TextScreen } from "../machine/text-screen.js";
import type { Trace } from "../trace/trace.js";

export function screenAt(trace: Trace, step: number): TextScreen {
  const state = trace.stateAt(step);
  return readTextScreen(state.machine.mem.u8, state.machine.vga);
}

/** The JSON shape of `ttd screen --json`: rows as text and attribute bytes as hex, cursor 0-based. */
export function screenJson(screen: TextScreen, step: number): object {
  const attributes: string[] = [];
  for (let r = 0; r < screen.rows; r++) {
    attributes.push(Buffer.from(screen.attributes.subarray(r * screen.columns, (r + 1) * screen.columns)).toString("hex"));
  }
  return {
    step,
    columns: screen.columns,
    rows: screen.rows,
    cursor: screen.cursor,
    startAddress: screen.startAddress,
    lines: screen.lines.map((l) => l.replace(/\s+$/u, "")),
    attributes,
  };
}
