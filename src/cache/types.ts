/** A duration in seconds. `0` means "never expires" wherever a timeout is taken. */
export type Seconds = number;

/** A source of the current time in milliseconds; injected so tests advance time instead of sleeping. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * What a storage backend must do. Values are opaque strings produced by the cache's codec
 * (versioned JSON), so a backend never sees or runs code.
 *
 * - `undefined` is the only miss; every string (including `""`) is a value.
 * - `ttl` is in seconds; `0` means no expiry. An expired entry behaves exactly like a missing one.
 * - Every key a backend writes lives under its own key prefix; `clear()` removes only those.
 * - Batch members are optional: `normalizeBackend` derives them from the primitives when absent.
 * - Methods may reject; the cache turns a rejection into a miss or a no-op (fail open).
 * - What a backend may offer beyond this (synchronous reads, locks, change notifications) are
 *   small interfaces of their own in backends/capabilities.ts.
 */
export interface CacheBackend {
  /** Short name used in events, stats and logs: `null`, `memory`, `filesystem`, `redis`, … */
  readonly name: string;
  /** The stored string, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value`, replacing any previous one. */
  set(key: string, value: string, ttl: Seconds): Promise<void>;
  /** Stores `value` only if the key is absent; resolves `true` when it stored. */
  add(key: string, value: string, ttl: Seconds): Promise<boolean>;
  /** Removes the key; resolves `true` if it existed. */
  delete(key: string): Promise<boolean>;
  /** Whether the key holds an unexpired value. */
  has(key: string): Promise<boolean>;
  /** Removes every entry under this backend's prefix and nothing else. */
  clear(): Promise<void>;
  /** Values for many keys, in order, `undefined` for each miss. */
  getMany?(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Stores many entries with one timeout. */
  setMany?(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void>;
  /** Removes many keys; resolves how many existed. */
  deleteMany?(keys: readonly string[]): Promise<number>;
  /**
   * Adds `delta` to the integer stored at `key` (absent counts as 0) and resolves the result;
   * atomic where the store allows. The stored value is the integer's decimal string.
   */
  incr?(key: string, delta: number): Promise<number>;
  /** What the backend knows of its size, for stats. */
  stats?(): Promise<BackendStats>;
  /** Releases connections, timers and handles. */
  close?(): Promise<void>;
}

/** An entry as `SyncReads.peekMany` answers it (backends/capabilities.ts). */
export interface PeekedEntry {
  readonly value: string;
  /** When it expires, in ms by the cache's clock; 0 = never. */
  readonly expiresAt: number;
}

/** A lock taken with `DistributedLocks.lock` (backends/capabilities.ts). */
export interface CacheLock {
  /** Frees the lock if this handle still holds it (never someone else's); resolves whether it did. */
  release(): Promise<boolean>;
}

/** Size figures a backend may report. */
export interface BackendStats {
  entries?: number;
  bytes?: number;
}

/** Where a cache operation came from, for events, stats and the toolbar. */
export type CacheOrigin = 'view' | 'fragment' | 'memoize' | 'direct';

/** The kinds of operation the cache reports. */
export type CacheOp =
  | 'get'
  | 'set'
  | 'add'
  | 'delete'
  | 'has'
  | 'clear'
  | 'incr'
  | 'invalidateTags';

/** What the page cache did for a request, as its `X-Cache` header says. */
export type PageCacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'STALE';

/** What an operation amounted to. */
export type CacheResult = 'hit' | 'miss' | 'set' | 'delete' | 'error';

/** One cache operation, as emitted on the cache's event stream. */
export interface CacheEvent {
  op: CacheOp;
  /** The key as the caller named it (before the backend prefix). */
  key: string;
  result: CacheResult;
  origin: CacheOrigin;
  backend: string;
  /** Milliseconds the operation took. */
  durationMs: number;
  /** Size in bytes of the encoded value read or written, when there was one. */
  bytes?: number;
  /** Free-form detail: a template and line for fragments, a function name for memoize. */
  detail?: string;
  /** The error message when `result` is `error`. */
  error?: string;
}

/** Per-call options shared by the writing operations. */
export interface SetOptions {
  /** Seconds to keep the value; the cache's default when omitted; `0` = no expiry. */
  timeout?: Seconds;
  /** Tags this entry belongs to; invalidating any of them makes the entry a miss. */
  tags?: readonly string[];
  /** Where the call came from (for events); `direct` when omitted. */
  origin?: CacheOrigin;
  /** Free-form detail for events. */
  detail?: string;
}

/** Options of a read. */
export interface GetOptions {
  origin?: CacheOrigin;
  detail?: string;
}

/** Options of `Cache.getOrSet`: the write options plus the Flask-Caching switches. */
export interface GetOrSetOptions<T = unknown> extends SetOptions {
  /** When it returns true the cache is bypassed entirely: no read, no write. */
  unless?: () => boolean;
  /** When it returns true the value is recomputed and overwrites the entry. */
  forcedUpdate?: () => boolean;
  /** A result filter: a computed value is stored only when it returns true. */
  shouldCache?: (value: T) => boolean;
  /** Whether a `null` result is stored (default true). */
  cacheNull?: boolean;
  /** When set, a `null`/`undefined` ("not found") result is stored as a marker for this many seconds. */
  negativeTimeout?: Seconds;
}
