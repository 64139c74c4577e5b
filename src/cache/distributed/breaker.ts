import type { AnyBackend, BreakerState, BreakerStatus } from '../backends/capabilities.ts';
import { normalizeBackend, type NormalizedBackend } from '../backends/normalize.ts';
import { CACHE_DEFAULTS } from '../defaults.ts';
import { systemClock, type BackendStats, type CacheBackend, type CacheLock, type Clock, type Seconds } from '../types.ts';

export type { BreakerState } from '../backends/capabilities.ts';

/** Options of {@link CircuitBreaker} and {@link withBreaker}. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** Milliseconds the circuit stays open before one probe is let through (default 2000). */
  openMs?: number;
  /** Time source, so tests advance time instead of sleeping. */
  clock?: Clock;
  /** Called on every state change, with the error that caused an opening. */
  onStateChange?(state: BreakerState, error?: unknown): void;
  /**
   * Whether an error counts against the backend's health (default: every error). An error that
   * does not count (a reply error, a bad argument) still rejects but leaves the breaker as it was.
   */
  isFailure?(error: unknown): boolean;
}

/** The rejection of a call refused because the circuit is open: no I/O was attempted. */
export class BreakerOpenError extends Error {
  override readonly name = 'BreakerOpenError';
}

/**
 * A circuit breaker: after `failureThreshold` consecutive failures it refuses calls for
 * `openMs`, then lets a single probe through; the probe's success closes it, its failure
 * re-opens it. Time is read from the clock on each call, so it keeps no timers.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeStartedAt = 0;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly clock: Clock;

  constructor(
    /** Name used in error messages (the backend's name). */
    readonly name: string,
    private readonly options: BreakerOptions = {},
  ) {
    this.threshold = options.failureThreshold ?? CACHE_DEFAULTS.breaker.failureThreshold;
    this.openMs = options.openMs ?? CACHE_DEFAULTS.breaker.openMs;
    this.clock = options.clock ?? systemClock;
    if (!Number.isInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError('CircuitBreaker: `failureThreshold` must be an integer ≥ 1');
    }
    if (!(this.openMs >= 0)) throw new RangeError('CircuitBreaker: `openMs` must be ≥ 0');
  }

  /** The current state; an open circuit turns `half-open` when the first call after its pause arrives. */
  get state(): BreakerState {
    return this.current;
  }

  /** Runs `call` if the circuit allows it, and records its outcome; otherwise rejects with {@link BreakerOpenError}. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const isProbe = this.admit();
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (this.countsAsFailure(error)) this.recordFailure(isProbe, error);
      // A probe that proved nothing either way frees the slot: the next call probes.
      else if (isProbe && this.current === 'half-open') this.probeStartedAt = Number.NEGATIVE_INFINITY;
      throw error;
    }
    this.recordSuccess(isProbe);
    return result;
  }

  /** Decides whether a call may proceed now; resolves whether it is the half-open probe. */
  private admit(): boolean {
    const now = this.clock.now();
    if (this.current === 'closed') return false;
    // A probe that never settles must not wedge the circuit: after another pause, probe again.
    const since = this.current === 'open' ? this.openedAt : this.probeStartedAt;
    if (now - since < this.openMs) {
      const wait = Math.max(0, this.openMs - (now - since));
      throw new BreakerOpenError(`${this.name}: circuit open after repeated failures; next probe in ${wait} ms`);
    }
    this.probeStartedAt = now;
    this.transition('half-open');
    return true;
  }

  private recordSuccess(isProbe: boolean): void {
    if (this.current === 'closed') {
      this.failures = 0;
    } else if (isProbe && this.current === 'half-open') {
      this.failures = 0;
      this.transition('closed');
    }
    // A call admitted before the circuit opened says nothing about the backend now.
  }

  private recordFailure(isProbe: boolean, error: unknown): void {
    if (this.current === 'closed') {
      this.failures += 1;
      if (this.failures >= this.threshold) this.open(error);
    } else if (isProbe && this.current === 'half-open') {
      this.open(error);
    }
  }

  private open(error: unknown): void {
    this.openedAt = this.clock.now();
    this.transition('open', error);
  }

  private countsAsFailure(error: unknown): boolean {
    return this.options.isFailure ? this.options.isFailure(error) : true;
  }

  private transition(state: BreakerState, error?: unknown): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onStateChange?.(state, error);
  }
}

/**
 * Wraps `backend` so that every call goes through one {@link CircuitBreaker}: after repeated
 * failures calls reject at once with {@link BreakerOpenError} and touch no network. `close()`
 * always passes through. Optional members (its lock included) exist only when the wrapped
 * backend has them.
 *
 * @example
 * const backend = withBreaker(new RedisBackend({ url, prefix: 'kiln:' }), { isFailure: isRedisOutage });
 */
export function withBreaker(backend: AnyBackend, options: BreakerOptions = {}): BreakerGuardedBackend {
  return new BreakerGuardedBackend(backend, new CircuitBreaker(backend.name, options));
}

/** A backend guarded by a circuit breaker (made by {@link withBreaker}), its state exposed for health and metrics. */
export class BreakerGuardedBackend implements CacheBackend, BreakerStatus {
  readonly name: string;
  getMany?: (keys: readonly string[]) => Promise<(string | undefined)[]>;
  setMany?: (entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds) => Promise<void>;
  deleteMany?: (keys: readonly string[]) => Promise<number>;
  incr?: (key: string, delta: number) => Promise<number>;
  stats?: () => Promise<BackendStats>;
  close?: () => Promise<void>;
  lock?: (key: string, ttlMs: number) => Promise<CacheLock | undefined>;
  /** The backend's remaining-TTL reads, through the breaker, where it has them. */
  getManyWithTtl?: (keys: readonly string[]) => Promise<({ value: string; ttl: Seconds } | undefined)[]>;
  private readonly inner: NormalizedBackend;

  constructor(
    backend: AnyBackend,
    /** The breaker itself. */
    readonly breaker: CircuitBreaker,
  ) {
    const inner = normalizeBackend(backend);
    this.inner = inner;
    this.name = inner.name;
    // Offered only where the backend offers them, so the cache derives the others from guarded primitives.
    if (backend.getMany) this.getMany = (keys) => breaker.run(() => inner.getMany(keys));
    if (backend.setMany) this.setMany = (entries, ttl) => breaker.run(() => inner.setMany(entries, ttl));
    if (backend.deleteMany) this.deleteMany = (keys) => breaker.run(() => inner.deleteMany(keys));
    if (backend.incr) this.incr = (key, delta) => breaker.run(() => inner.incr(key, delta));
    if (backend.stats) this.stats = () => breaker.run(() => inner.stats());
    if (backend.close) this.close = () => inner.close();
    const locks = inner.locks;
    if (locks) this.lock = (key, ttlMs) => breaker.run(() => locks.lock(key, ttlMs));
    const expiring = inner.expiringReads;
    if (expiring) this.getManyWithTtl = (keys) => breaker.run(() => expiring.getManyWithTtl(keys));
  }

  /** The breaker's current state. */
  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  get(key: string): Promise<string | undefined> {
    return this.breaker.run(() => this.inner.get(key));
  }

  set(key: string, value: string, ttl: Seconds): Promise<void> {
    return this.breaker.run(() => this.inner.set(key, value, ttl));
  }

  add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    return this.breaker.run(() => this.inner.add(key, value, ttl));
  }

  delete(key: string): Promise<boolean> {
    return this.breaker.run(() => this.inner.delete(key));
  }

  has(key: string): Promise<boolean> {
    return this.breaker.run(() => this.inner.has(key));
  }

  clear(): Promise<void> {
    return this.breaker.run(() => this.inner.clear());
  }
}
