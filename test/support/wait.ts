/** How {@link waitUntil} polls. */
export interface WaitOptions {
  /** Fails after this many milliseconds (default 10 000: another process may have to restart). */
  timeoutMs?: number;
  /** Milliseconds between two checks (default 10). */
  intervalMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
}

/**
 * Polls `check` until it holds, for waiting on another process or a real server, where no fake
 * clock can help; throws after `timeoutMs`. An error thrown by `check` fails at once (wrap the
 * check in `.catch(() => false)` when an error only means "not yet").
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = options;
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
