/**
 * Fitting text into a terminal's cells: folding answer lines at word boundaries, scrolling a prompt's
 * input so its end (where the cursor is) stays in view, shortening data paths so the variable and the
 * element both stay readable, and building a status line that keeps its most telling parts. Pure
 * functions over strings, so the screen's layout rules are testable without a terminal.
 */

/** The smallest terminal the screen lays out in; below it the screen says so instead of drawing. */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 16;

const ELLIPSIS = "…";

/**
 * Folds `line` into rows of at most `width` characters, breaking at spaces. Continuation rows are
 * indented past the line's own indent (by 4) so they read as part of it; a word longer than a row
 * (a long expression with no spaces) is broken where the row ends, as nothing better is possible.
 */
export function wrapWords(line: string, width: number): string[] {
  if (width < 1) return [line];
  if (line.length <= width) return [line];
  const lead = /^ */.exec(line)![0].length;
  const indent = " ".repeat(Math.min(lead + 4, Math.floor(width / 2)));
  const rows: string[] = [];
  let row = line.slice(0, lead);
  let rowHasWord = false;
  const words = line.slice(lead).split(/( +)/);
  for (let i = 0; i < words.length; i += 2) {
    let word = words[i];
    const space = rowHasWord ? words[i - 1] ?? " " : "";
    if (row.length + space.length + word.length <= width) {
      row += space + word;
      rowHasWord = rowHasWord || word.length > 0;
      continue;
    }
    // The word does not fit after what the row holds: start a new row (unless the row is empty).
    if (rowHasWord) {
      rows.push(row);
      row = indent;
      rowHasWord = false;
    }
    // A word wider than a whole row is cut into row-sized pieces.
    while (row.length + word.length > width) {
      const room = width - row.length;
      rows.push(row + word.slice(0, room));
      word = word.slice(room);
      row = indent;
    }
    row += word;
    rowHasWord = word.length > 0;
  }
  if (rowHasWord || rows.length === 0) rows.push(row);
  return rows;
}

/**
 * What of a prompt's input to show in `room` characters (the cursor cell excluded): all of it when it
 * fits, else its end after an ellipsis, so what is being typed is always visible.
 */
export function inputTail(input: string, room: number): string {
  if (input.length <= room) return input;
  if (room <= 1) return input.slice(input.length - Math.max(0, room));
  return ELLIPSIS + input.slice(input.length - (room - 1));
}

/**
 * A data path (`ksIdleThread->tcbArch.tcbContext.registers[10]`) or symbol in at most `room`
 * characters. The end names the element and the start the variable, so a long path keeps its last
 * component whole and as much of its start as fits before an ellipsis (`ksIdleThread…registers[10]`,
 * `ksIdle…registers[10]`); a name with no components keeps its start and is cut at the end.
 */
export function shortenPath(s: string, room: number): string {
  if (s.length <= room) return s;
  if (room <= 1) return s.slice(0, Math.max(0, room));
  let last = -1;
  for (const m of s.matchAll(/->|\./g)) last = m.index! + m[0].length;
  const end = last > 0 ? s.slice(last) : "";
  // The start gets what the last component leaves, if that is enough to recognise it (3 characters).
  if (end.length > 0 && end.length + 1 + 3 <= room) {
    // A separator cut in half (`ksIdleThread-`) reads as noise: drop its remains.
    const head = s.slice(0, room - 1 - end.length).replace(/-$/, "");
    return head + ELLIPSIS + end;
  }
  if (end.length > 0 && end.length + 1 <= room) return ELLIPSIS + end;
  return s.slice(0, room - 1) + ELLIPSIS;
}

/**
 * The status line's parts joined in at most `width` characters. Parts are in order of importance
 * (what the step is before where it is): when they do not all fit, the file path is cut to its file
 * name, then the line is cut at its end, so the earlier parts survive.
 */
export function fitStatus(parts: { text: string; path?: boolean }[], width: number, sep = "  |  "): string {
  const join = (ps: string[]) => " " + ps.join(sep) + " ";
  let texts = parts.map((p) => p.text);
  if (join(texts).length > width) {
    texts = parts.map((p) => (p.path ? p.text.slice(p.text.lastIndexOf("/") + 1) : p.text));
  }
  const line = join(texts);
  return line.length <= width ? line : line.slice(0, Math.max(0, width - 1)) + ELLIPSIS;
}
