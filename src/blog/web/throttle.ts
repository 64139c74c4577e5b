import type { Clock } from '../../cache/types.ts';

/** Options of the login throttle. */
export interface ThrottleOptions {
  /** Failures allowed per client within the window; the next attempt is refused. */
  maxFailures: number;
  /** Length of the sliding window, in milliseconds. */
  windowMs: number;
  clock: Clock;
  /** Clients remembered at most (oldest forgotten first), bounding memory under a spray of addresses. */
  maxClients?: number;
}

/** What the throttle says about a client's next attempt. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts failed logins per client address in a sliding window (in this process's memory; a
 * multi-process deployment needs a shared store).
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly maxClients: number;

  constructor(private readonly options: ThrottleOptions) {
    this.maxClients = options.maxClients ?? 10_000;
  }

  /** Whether `client` may try to log in now. */
  check(client: string): ThrottleVerdict {
    const recent = this.recent(client);
    if (recent.length < this.options.maxFailures) return { allowed: true };
    const retryAt = recent[0] + this.options.windowMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((retryAt - this.options.clock.now()) / 1000)) };
  }

  /** Records a failed attempt by `client`. */
  fail(client: string): void {
    const recent = this.recent(client);
    recent.push(this.options.clock.now());
    this.failures.delete(client);
    this.failures.set(client, recent);
    while (this.failures.size > this.maxClients) {
      const oldest = this.failures.keys().next();
      if (oldest.done) break;
      this.failures.delete(oldest.value);
    }
  }

  /** Forgets `client`'s failures (after a successful login). */
  reset(client: string): void {
    this.failures.delete(client);
  }

  private recent(client: string): number[] {
    const since = this.options.clock.now() - this.options.windowMs;
    const kept = (this.failures.get(client) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(client);
    return kept;
  }
}
