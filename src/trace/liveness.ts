/**
 * Whether a trace that was not finalized is still being recorded, or its recorder died. The recorder
 * stores its process id and host name in meta `recorder`; a trace without `end_reason` whose
 * recorder is a process still running on this host is live, any other is a recording that stopped
 * without finalizing (kill -9, a crash, a power cut).
 */
import { hostname } from "node:os";

export const RECORDER_META = "recorder";

/** The value of meta `recorder` for this process. */
export function recorderMeta(): string {
  return JSON.stringify({ pid: process.pid, host: hostname() });
}

/** The process id of a recorder still running on this host, or null (unknown, elsewhere or gone). */
export function liveRecorder(value: string | undefined): number | null {
  if (value === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const { pid, host } = parsed as { pid?: unknown; host?: unknown };
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0 || host !== hostname()) return null;
  if (pid === process.pid) return pid;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
}
