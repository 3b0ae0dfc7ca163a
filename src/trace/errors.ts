/**
 * Errors about a trace or a query on it, each one line naming the file (or the query) and what is
 * wrong. The CLI reports them with exit status 2 ("bad input").
 */
export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceError";
  }
}
