/**
 * The error every expression failure raises: a message and the column span [start, end) of the part of
 * the expression that failed, so a CLI can print the expression and underline the culprit.
 */
export class ExpressionError extends Error {
  readonly start: number;
  readonly end: number;

  constructor(message: string, start: number, end: number) {
    super(message);
    this.name = "ExpressionError";
    this.start = start;
    this.end = Math.max(end, start + 1);
  }

  /** Two lines: the expression and a caret underline of the failing span. */
  underline(expression: string): string {
    return `${expression}\n${" ".repeat(this.start)}${"^".repeat(Math.max(1, Math.min(this.end, expression.length + 1) - this.start))}`;
  }
}
