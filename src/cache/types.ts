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
 * - Batch members are optional: the cache derives them from the primitives when absent.
 * - Methods may reject; the cache turns a rejection into a miss or a no-op (fail open).
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
  /**
   * What `getMany` would resolve, with each entry's expiry, when the backend can tell without
   * waiting (entries held in this process, or small synchronous file reads); `undefined` when it
   * cannot, and the caller then reads with `getMany`. It may throw; the caller then reads with
   * `getMany` too. It lets a hot path (the page front) answer a hit in the tick it arrived.
   */
  peekMany?(keys: readonly string[]): (PeekedEntry | undefined)[] | undefined;
  /**
   * A value that changes whenever something `peekMany` answered may have changed other than by
   * expiry (a write, delete, eviction, or another process's invalidation), or `undefined` when
   * the backend cannot vouch for that now. While it is unchanged, a caller may trust what
   * `peekMany` answered until the entries' expiry, without asking again.
   */
  changeStamp?(): number | string | undefined;
  /** Stores many entries with one timeout. */
  setMany?(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void>;
  /** Removes many keys; resolves how many existed. */
  deleteMany?(keys: readonly string[]): Promise<number>;
  /**
   * Adds `delta` to the integer stored at `key` (absent counts as 0) and resolves the result;
   * atomic where the store allows. The stored value is the integer's decimal string.
   */
  incr?(key: string, delta: number): Promise<number>;
  /**
   * Takes a short exclusive lock named `key` that expires after `ttlMs` milliseconds (distributed
   * single-flight); resolves a handle, or `undefined` while another holder has it. Only the handle
   * that took it can release it, so a holder whose lock expired never frees someone else's.
   */
  lock?(key: string, ttlMs: number): Promise<CacheLock | undefined>;
  /**
   * Resolves when another process announces a change of `key`, or after `timeoutMs` at the
   * latest; lets a process waiting on another's lock wake as soon as the value is stored.
   */
  waitForChange?(key: string, timeoutMs: number): Promise<void>;
  /** What the backend knows of its size, for stats. */
  stats?(): Promise<BackendStats>;
  /** Releases connections, timers and handles. */
  close?(): Promise<void>;
}

/** An entry as `peekMany` answers it. */
export interface PeekedEntry {
  readonly value: string;
  /** When it expires, in ms by the cache's clock; 0 = never. */
  readonly expiresAt: number;
}

/** A lock taken with {@link CacheBackend.lock}. */
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
