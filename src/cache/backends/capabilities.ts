import type { CacheBackend, CacheLock, PeekedEntry, Seconds } from '../types.ts';

/**
 * What a backend may offer beyond the {@link CacheBackend} contract, one small interface per
 * capability. `normalizeBackend` (normalize.ts) detects each once, when it wraps a backend.
 */

/** Reads answered in the current tick from what this process holds (memory, near copies, small files). */
export interface SyncReads {
  /**
   * What `getMany` would resolve, with each entry's expiry, when the backend can tell without
   * waiting; `undefined` when it cannot, and the caller then reads with `getMany`. It may throw;
   * the caller then reads with `getMany` too. It lets a hot path (early page answers) answer a
   * hit in the tick it arrived.
   */
  peekMany(keys: readonly string[]): (PeekedEntry | undefined)[] | undefined;
  /**
   * A value that changes whenever something `peekMany` answered may have changed other than by
   * expiry (a write, delete, eviction, or another process's invalidation), or `undefined` when
   * the backend cannot vouch for that now. While it is unchanged, a caller may trust what
   * `peekMany` answered until the entries' expiry, without asking again.
   */
  contentVersion(): number | string | undefined;
}

/** A short exclusive lock for distributed single-flight (Redis). */
export interface DistributedLocks {
  /**
   * Takes the lock named `key` for `ttlMs` milliseconds; resolves a handle, or `undefined` while
   * another holder has it. Only the handle that took it can release it, so a holder whose lock
   * expired never frees someone else's.
   */
  lock(key: string, ttlMs: number): Promise<CacheLock | undefined>;
}

/** Wakes a waiter when another process announces a change of `key` (the near cache's bus). */
export interface ChangeNotifications {
  /** Resolves when another process announces a change of `key`, or after `timeoutMs` at the latest. */
  waitForChange(key: string, timeoutMs: number): Promise<void>;
}

/** Reads with each entry's remaining life (Redis GET + PTTL), for the near cache. */
export interface ExpiringReads {
  /** Values with their remaining time to live in seconds (0 = no expiry); undefined for a miss. */
  getManyWithTtl(keys: readonly string[]): Promise<({ value: string; ttl: Seconds } | undefined)[]>;
}

/** `closed`: calls pass; `open`: calls are refused; `half-open`: one probe call is in flight. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A backend behind a circuit breaker reports its state (health, metrics, toolbar). */
export interface BreakerStatus {
  /** The breaker's state now; undefined when, after all, there is no breaker behind (a near cache over a plain remote). */
  readonly breakerState: BreakerState | undefined;
}

/** Every capability at once. */
export type BackendCapabilities = SyncReads & DistributedLocks & ChangeNotifications & ExpiringReads & BreakerStatus;

/** What `normalizeBackend` accepts: the contract, with whichever capabilities the object has. */
export type AnyBackend = CacheBackend & Partial<BackendCapabilities>;

/** Whether `backend` reads synchronously and says when what it read may have changed. */
export function hasSyncReads(backend: AnyBackend): backend is AnyBackend & SyncReads {
  return typeof backend.peekMany === 'function' && typeof backend.contentVersion === 'function';
}

/** Whether `backend` takes distributed locks. */
export function hasLocks(backend: AnyBackend): backend is AnyBackend & DistributedLocks {
  return typeof backend.lock === 'function';
}

/** Whether `backend` announces other processes' changes. */
export function hasChangeNotifications(backend: AnyBackend): backend is AnyBackend & ChangeNotifications {
  return typeof backend.waitForChange === 'function';
}

/** Whether `backend` reads with remaining lives. */
export function hasExpiringReads(backend: AnyBackend): backend is AnyBackend & ExpiringReads {
  return typeof backend.getManyWithTtl === 'function';
}

const BREAKER_STATES: ReadonlySet<unknown> = new Set<BreakerState>(['closed', 'open', 'half-open']);

/** Whether `backend` has a circuit breaker behind it now. */
export function hasBreaker(backend: AnyBackend): backend is AnyBackend & BreakerStatus {
  return BREAKER_STATES.has(backend.breakerState);
}
