import { EventEmitter } from 'node:events';
import { PURGE_ALL_TAG, purgeUrl, sendableTags, sendPurgeRequest, type PurgeOutcome } from './purge-request.ts';
import type { CacheLogger } from './telemetry.ts';
import type { CacheEvent } from './types.ts';

/**
 * Purges shared HTTP caches (Varnish with the xkey vmod, or a CDN with surrogate keys) by tag.
 *
 * `purge(tags)` sends `PURGE` with `xkey-purge: tag1 tag2` to every cache at once and resolves
 * once each has answered or failed (at most `timeoutMs`); it never rejects, so a cache that is
 * down never fails the write that invalidated. A failed purge is retried in the background with
 * a doubling delay, its tags merged with later failures to the same cache, until it succeeds or
 * `retries` run out. Every purge is sent once more `repeatAfterMs` later: a reader's request
 * that Kiln was answering with the old page while the write committed can reach the cache after
 * the first purge, and would otherwise stay there until its TTL.
 */

/** Options of {@link HttpPurger}; time in milliseconds. */
export interface HttpPurgeOptions {
  /** The purge URL of each cache, http or https (e.g. `http://127.0.0.1:6081/`). */
  urls: readonly string[];
  /** Longest one purge request may take (default 1000). */
  timeoutMs?: number;
  /** Most purge requests in flight at once, all caches together (default 4). */
  concurrency?: number;
  /** Retries of a failed purge before it is given up (default 8: about a minute with the default backoff). */
  retries?: number;
  /** Delay before the first retry, doubling after each failure (default 250). */
  backoffMs?: number;
  /** Longest delay between retries (default 30 000). */
  maxBackoffMs?: number;
  /** When to send each purge again, for pages already on their way when it arrived; 0 = never (default 1000). */
  repeatAfterMs?: number;
  /** Most distinct tags waiting for a retry per cache; beyond it the retry purges everything (default 500). */
  maxPendingTags?: number;
  /** The request header carrying the space-separated tags (default `xkey-purge`). */
  header?: string;
  /** The request method (default `PURGE`). */
  method?: string;
  /** Timers for retries and repeats (default Node's, unref'd); injected so tests need not wait. */
  timers?: PurgeTimers;
  /** Where failures and recoveries are logged, once per change. */
  logger?: CacheLogger;
}

/** Schedules delayed work. */
export interface PurgeTimers {
  /** Runs `run` after `ms` milliseconds unless cancelled first. */
  set(run: () => void, ms: number): { cancel(): void };
}

/** Which send of a purge an event reports. */
export type PurgeAttempt = 'first' | 'retry' | 'repeat';

/** One purge request and how it ended, emitted as `'purge'` on {@link HttpPurger.events}. */
export interface PurgeEvent {
  /** The cache's purge URL, without credentials. */
  target: string;
  tags: readonly string[];
  attempt: PurgeAttempt;
  /** `sent`: the cache accepted it; `failed`: it will be retried; `abandoned`: retries ran out. */
  result: 'sent' | 'failed' | 'abandoned';
  durationMs: number;
  /** Objects the cache says it removed, when it says. */
  purged?: number;
  error?: string;
}

/** How the first send of one purge went, over every cache. */
export interface PurgeReport {
  sent: number;
  failed: number;
}

const nodeTimers: PurgeTimers = {
  set: (run, ms) => {
    const timer = setTimeout(run, ms).unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** One cache and what is waiting to be sent to it. */
class Target {
  readonly label: string;
  /** Tags whose purge failed, sent together by the next retry. */
  readonly failedTags = new Set<string>();
  failures = 0;
  retryTimer: { cancel(): void } | undefined = undefined;
  retrying = false;
  /** Tags to send again once `repeatAfterMs` has passed. */
  readonly repeatTags = new Set<string>();
  repeatTimer: { cancel(): void } | undefined = undefined;
  failing = false;

  constructor(readonly url: URL) {
    this.label = `${url.origin}${url.pathname}`;
  }
}

/**
 * Sends tag purges to shared HTTP caches; see the module comment.
 *
 * @example
 * const purger = new HttpPurger({ urls: ['http://127.0.0.1:6081/'] });
 * await cache.invalidateTags(['post:3']);
 * await purger.purge(['post:3']); // after the app's own cache, so the refill is fresh
 */
export class HttpPurger {
  /** Emits `'purge'` with a {@link PurgeEvent} for every request sent and every purge given up. */
  readonly events = new EventEmitter();
  private readonly targets: Target[];
  private readonly options: Required<Omit<HttpPurgeOptions, 'urls' | 'logger'>> & Pick<HttpPurgeOptions, 'logger'>;
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];
  private busy = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(options: HttpPurgeOptions) {
    if (!options || !Array.isArray(options.urls)) throw new TypeError('HttpPurger: `urls` must be an array of URLs');
    this.targets = options.urls.map((raw) => new Target(purgeUrl(raw)));
    this.options = {
      timeoutMs: positive(options.timeoutMs ?? 1000, 'timeoutMs'),
      concurrency: positive(options.concurrency ?? 4, 'concurrency'),
      retries: atLeastZero(options.retries ?? 8, 'retries'),
      backoffMs: atLeastZero(options.backoffMs ?? 250, 'backoffMs'),
      maxBackoffMs: atLeastZero(options.maxBackoffMs ?? 30_000, 'maxBackoffMs'),
      repeatAfterMs: atLeastZero(options.repeatAfterMs ?? 1000, 'repeatAfterMs'),
      maxPendingTags: positive(options.maxPendingTags ?? 500, 'maxPendingTags'),
      header: options.header ?? 'xkey-purge',
      method: options.method ?? 'PURGE',
      timers: options.timers ?? nodeTimers,
      logger: options.logger,
    };
  }

  /** The caches' purge URLs, without credentials. */
  get urls(): string[] {
    return this.targets.map((target) => target.label);
  }

  /**
   * Purges `tags` from every cache; resolves once each has answered or failed, never rejects.
   * Failures are retried in the background; see the module comment.
   */
  async purge(tags: readonly string[]): Promise<PurgeReport> {
    const list = sendableTags(tags);
    if (this.closed || list.length === 0) return { sent: 0, failed: 0 };
    const sent = await Promise.all(this.targets.map((target) => this.sendFirst(target, list, 'first')));
    for (const target of this.targets) this.repeatLater(target, list);
    const ok = sent.filter(Boolean).length;
    return { sent: ok, failed: sent.length - ok };
  }

  /** Resolves once nothing is in flight or waiting (retries and repeats included). */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Cancels every retry and repeat still waiting; later purges do nothing. */
  close(): void {
    this.closed = true;
    for (const target of this.targets) {
      if (target.retryTimer !== undefined) this.cancel(target.retryTimer);
      if (target.repeatTimer !== undefined) this.cancel(target.repeatTimer);
      target.retryTimer = target.repeatTimer = undefined;
      target.failedTags.clear();
      target.repeatTags.clear();
    }
  }

  /** A first send or a repeat: a failure joins the target's retries; a success sends those at once. */
  private async sendFirst(target: Target, tags: readonly string[], attempt: 'first' | 'repeat'): Promise<boolean> {
    const ok = await this.send(target, tags, attempt);
    if (!ok && this.options.retries === 0) {
      this.abandon(target, tags);
    } else if (!ok) {
      this.addFailed(target, tags);
      this.scheduleRetry(target, this.backoff(target));
    } else if (target.failedTags.size > 0) {
      // The cache answers again: what failed before need not wait for its backoff.
      this.scheduleRetry(target, 0);
    }
    return ok;
  }

  private async retry(target: Target): Promise<void> {
    target.retryTimer = undefined;
    const tags = [...target.failedTags];
    target.failedTags.clear();
    if (tags.length === 0 || this.closed) return;
    target.retrying = true;
    const ok = await this.send(target, tags, 'retry');
    target.retrying = false;
    if (ok) {
      target.failures = 0;
    } else if (target.failures + 1 >= this.options.retries) {
      target.failures = 0;
      this.abandon(target, [...tags, ...target.failedTags]);
    } else {
      target.failures += 1;
      this.addFailed(target, tags);
    }
    if (target.failedTags.size > 0) this.scheduleRetry(target, ok ? 0 : this.backoff(target));
  }

  /** Gives up the purge of `tags` (and whatever else was waiting) at this cache. */
  private abandon(target: Target, tags: readonly string[]): void {
    const given = [...new Set(tags)];
    target.failedTags.clear();
    this.emit({ target: target.label, tags: given, attempt: 'retry', result: 'abandoned', durationMs: 0, error: `given up after ${this.options.retries} retries` });
    this.options.logger?.warn(`HTTP cache purge of ${given.join(' ')} at ${target.label} given up after ${this.options.retries} retries`);
  }

  private backoff(target: Target): number {
    return Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** target.failures);
  }

  private addFailed(target: Target, tags: readonly string[]): void {
    for (const tag of tags) target.failedTags.add(tag);
    if (target.failedTags.size > this.options.maxPendingTags) {
      target.failedTags.clear();
      target.failedTags.add(PURGE_ALL_TAG);
    }
  }

  private scheduleRetry(target: Target, ms: number): void {
    if (this.closed || target.retrying) return;
    if (target.retryTimer !== undefined) {
      if (ms > 0) return;
      this.cancel(target.retryTimer);
    }
    target.retryTimer = this.schedule(() => this.retry(target), ms);
  }

  private repeatLater(target: Target, tags: readonly string[]): void {
    if (this.closed || this.options.repeatAfterMs === 0) return;
    for (const tag of tags) target.repeatTags.add(tag);
    if (target.repeatTimer !== undefined) return;
    target.repeatTimer = this.schedule(async () => {
      target.repeatTimer = undefined;
      const again = [...target.repeatTags];
      target.repeatTags.clear();
      if (again.length > 0 && !this.closed) await this.sendFirst(target, again, 'repeat');
    }, this.options.repeatAfterMs);
  }

  /** Sends one request, within the concurrency bound, and reports it. */
  private async send(target: Target, tags: readonly string[], attempt: PurgeAttempt): Promise<boolean> {
    this.enter();
    try {
      await this.slot();
      const started = performance.now();
      let outcome: PurgeOutcome;
      try {
        outcome = await sendPurgeRequest({
          url: target.url,
          method: this.options.method,
          headers: { [this.options.header]: tags.join(' ') },
          timeoutMs: this.options.timeoutMs,
        });
      } finally {
        this.release();
      }
      const durationMs = performance.now() - started;
      if (outcome.ok) {
        this.emit({ target: target.label, tags, attempt, result: 'sent', durationMs, ...(outcome.purged === undefined ? {} : { purged: outcome.purged }) });
        if (target.failing) this.options.logger?.info(`HTTP cache purges to ${target.label} succeed again`);
        target.failing = false;
        return true;
      }
      this.emit({ target: target.label, tags, attempt, result: 'failed', durationMs, error: outcome.error });
      if (!target.failing) this.options.logger?.warn(`HTTP cache purge to ${target.label} failed (${outcome.error}); retrying in the background`);
      target.failing = true;
      return false;
    } finally {
      this.leave();
    }
  }

  private emit(event: PurgeEvent): void {
    try {
      this.events.emit('purge', event);
    } catch {
      // A listener's failure is not the purge's.
    }
  }

  private slot(): Promise<void> {
    if (this.inFlight < this.options.concurrency) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.inFlight -= 1;
  }

  private schedule(run: () => Promise<void>, ms: number): { cancel(): void } {
    this.enter();
    return this.options.timers.set(() => {
      void run().finally(() => this.leave());
    }, ms);
  }

  private cancel(timer: { cancel(): void }): void {
    timer.cancel();
    this.leave();
  }

  private enter(): void {
    this.busy += 1;
  }

  private leave(): void {
    this.busy -= 1;
    if (this.busy === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }
}

/**
 * A purge as the dev toolbar lists cache operations: a tag invalidation on the `http` backend,
 * with the cache and the attempt in its detail.
 */
export function purgeOpEvent(event: PurgeEvent): CacheEvent {
  const attempt = event.attempt === 'first' ? '' : ` (${event.attempt})`;
  const purged = event.purged === undefined ? '' : ` · ${event.purged} purged`;
  const op: CacheEvent = {
    op: 'invalidateTags',
    key: event.tags.join(' '),
    result: event.result === 'sent' ? 'delete' : 'error',
    origin: 'direct',
    backend: 'http',
    durationMs: event.durationMs,
    detail: `PURGE ${event.target}${attempt}${purged}`,
  };
  if (event.error !== undefined) op.error = event.error;
  return op;
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`HttpPurger: \`${name}\` must be a whole number ≥ 1, got ${value}`);
  return value;
}

function atLeastZero(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`HttpPurger: \`${name}\` must be a whole number ≥ 0, got ${value}`);
  return value;
}
