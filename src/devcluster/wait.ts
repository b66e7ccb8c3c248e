/** Polling with a deadline and a message that says what was last seen. */
import { UnavailableError } from "../core/errors.js";

/** What was waited for did not come up in time (exit 3). */
export class WaitTimeoutError extends UnavailableError {}

export interface PollResult<T> {
  done: boolean;
  value?: T;
  /** What the last attempt saw; goes into the timeout error. */
  detail?: string;
}

/**
 * Calls `check` every `intervalMs` until it reports done, `check` throws a non-retryable error
 * (rethrown), `abort()` throws, or `timeoutMs` passes (WaitTimeoutError naming `what` and the last detail).
 */
export async function poll<T>(what: string, timeoutMs: number, check: () => Promise<PollResult<T>>, opts: { intervalMs?: number; abort?: () => void } = {}): Promise<T> {
  const intervalMs = opts.intervalMs ?? 500;
  const start = Date.now();
  let last = "(not checked yet)";
  for (;;) {
    opts.abort?.();
    const r = await check();
    if (r.done) return r.value as T;
    if (r.detail !== undefined) last = r.detail;
    if (Date.now() - start >= timeoutMs) {
      throw new WaitTimeoutError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; last seen: ${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
