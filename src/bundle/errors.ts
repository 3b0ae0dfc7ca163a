/**
 * Errors about a bundle: one line naming the file and what is wrong with it. A BundleError is a
 * TraceError, so every command that already reports bad traces with exit status 2 reports bad bundles
 * the same way.
 */
import { TraceError } from "../trace/errors.js";

export class BundleError extends TraceError {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}
