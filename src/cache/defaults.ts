/**
 * Every default of the caching library, in one place: the constructors and the `CACHE_*` reader
 * (config/cache-config.ts) take their fallbacks from here, so a default is changed once.
 * Units are in the names: `Ms` milliseconds, `Bytes` bytes, timeouts in seconds. Format limits
 * (the longest key, the longest entry) stay beside their format in keys.ts and codec.ts.
 */
export const CACHE_DEFAULTS = {
  /** The cache facade (cache.ts). */
  cache: {
    /** Seconds an entry lives when a call names no timeout (`CACHE_DEFAULT_TIMEOUT`). */
    defaultTimeout: 300,
    /** Fraction 0..1 of random shortening applied to timeouts (`CACHE_JITTER`). */
    jitter: 0,
    /** Prefix of every key a backend writes (`CACHE_KEY_PREFIX`); never empty, so `clear()` stays inside it. */
    keyPrefix: 'kiln:',
    /** Longest a distributed single-flight lock lives, in ms: a crashed holder delays the others no longer. */
    lockTtlMs: 5000,
  },
  /** Reads kept by the hot path (reader.ts): the longest stored string kept, and how many keys. */
  peek: { keepMaxLength: 4096, keepMaxEntries: 1024 },
  /** Tag keys kept built (a hit checks its tags on every read); beyond this the first built go. */
  tagKeyMemoEntries: 10_000,
  /** Failed invalidations remembered one by one (pending.ts); beyond this the replay clears the prefix. */
  pendingMaxEntries: 10_000,
  /** The in-process memory backend (`CACHE_THRESHOLD`, `CACHE_MAX_BYTES`). */
  memory: { threshold: 500, maxBytes: 64 * 1024 * 1024 },
  /** The filesystem backend (`CACHE_DIR`, `CACHE_THRESHOLD`); see its `contentVersion` for `settleMs`. */
  filesystem: { dir: 'data/cache', threshold: 500, settleMs: 2000 },
  /** The Redis connection (`CACHE_REDIS_*`). */
  redis: {
    host: '127.0.0.1',
    port: 6379,
    db: 0,
    /** Longest a single command may take (`CACHE_REDIS_TIMEOUT_MS`). */
    commandTimeoutMs: 250,
    /** Longest a TCP connection attempt may take. */
    connectTimeoutMs: 2000,
    /** Longest pause between background reconnection attempts. */
    maxReconnectDelayMs: 1000,
  },
  /** The near cache in front of Redis (`CACHE_NEAR_MAX_BYTES`, `CACHE_NEAR_TTL` in seconds). */
  near: { maxBytes: 16 * 1024 * 1024, maxTtl: 10, maxEntries: 100_000 },
  /** Waiting on another process's single-flight lock: the first pause, doubled up to the longest, in ms. */
  lockPoll: { pollMs: 2, maxPollMs: 25 },
  /** Near-cache coherence: the wait for confirmations and the interval of the sequence check, in ms. */
  coherence: { ackTimeoutMs: 250, pollMs: 1000 },
  /** The circuit breaker in front of Redis: consecutive failures that open it, and its pause in ms. */
  breaker: { failureThreshold: 5, openMs: 2000 },
  /** The page cache's early answers (the prepared pages) and the bodies it keeps decoded. */
  page: {
    preparedMaxEntries: 1000,
    preparedMaxBytes: 32 * 1024 * 1024,
    bodiesMaxEntries: 256,
    bodiesMaxBytes: 8 * 1024 * 1024,
  },
  /** The development toolbar. */
  toolbar: {
    /** Requests remembered, items per request, and characters kept of each SQL statement. */
    maxRequests: 100,
    maxItems: 1000,
    maxSqlLength: 4000,
    /** Requests listed per browser. */
    historySize: 10,
    /** Lifetime of the toolbar's token, in ms. */
    tokenLifetimeMs: 12 * 60 * 60 * 1000,
  },
} as const;
