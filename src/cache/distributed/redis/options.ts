import type { RedisOptions } from 'ioredis';
import { CACHE_DEFAULTS } from '../../defaults.ts';
import type { Clock, Seconds } from '../../types.ts';
import type { RedisClient, RedisTopologyOptions } from './topology.ts';

// The Redis backend's options, errors and fail-fast client settings (see redis.ts).

/** Options of {@link RedisBackend}: where to connect (see RedisTopologyOptions), plus these; durations in milliseconds. */
export interface RedisBackendOptions extends RedisTopologyOptions {
  /** Every key this backend writes starts with it; must be non-empty, e.g. `kiln:`. */
  prefix: string;
  /** Longest time any single operation may take before it rejects (default 250). */
  commandTimeoutMs?: number;
  /** Longest time a TCP connection attempt may take (default 2000). */
  connectTimeoutMs?: number;
  /**
   * A connection that answers nothing for this long while commands wait is dropped and
   * reconnected, so a frozen or partitioned server is detected (default 4 × command timeout, ≥ 1000).
   */
  socketTimeoutMs?: number;
  /** Longest pause between background reconnection attempts (default 1000). */
  maxReconnectDelayMs?: number;
  /** Accepted for symmetry with the other backends; Redis expires keys on its own clock. */
  clock?: Clock;
  /** An existing client (single, Sentinel or Cluster) to use instead of opening one; `close()` then leaves it open. */
  client?: RedisClient;
}

/** Thrown when an operation is attempted while the client has no usable connection. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** Thrown when an operation does not finish within the command timeout. */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
}

/**
 * Whether an error means Redis could not be reached in time, as opposed to a reply error
 * (WRONGTYPE, OOM: the server is up) or a bad argument. Pass it as the breaker's `isFailure`.
 */
export function isRedisOutage(error: unknown): boolean {
  if (error instanceof RangeError || error instanceof TypeError) return false;
  return !(error instanceof Error && error.name === 'ReplyError');
}

/** Escapes the glob characters of Redis `MATCH` patterns so the text matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** @deprecated Use `CACHE_DEFAULTS.redis.commandTimeoutMs` (defaults.ts). */
export const DEFAULT_COMMAND_TIMEOUT_MS = CACHE_DEFAULTS.redis.commandTimeoutMs;

/** The ioredis settings that make a client fail fast and heal itself in the background. */
export function failFastOptions(options: Omit<RedisBackendOptions, 'prefix' | 'client' | 'sentinels' | 'cluster'>): RedisOptions {
  const commandTimeout = options.commandTimeoutMs ?? CACHE_DEFAULTS.redis.commandTimeoutMs;
  const maxDelay = options.maxReconnectDelayMs ?? CACHE_DEFAULTS.redis.maxReconnectDelayMs;
  return {
    ...(options.url === undefined ? { host: options.host ?? CACHE_DEFAULTS.redis.host, port: options.port ?? CACHE_DEFAULTS.redis.port } : {}),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.db === undefined ? {} : { db: options.db }),
    // Commands issued while disconnected reject at once instead of piling up for a replay.
    enableOfflineQueue: false,
    // In-flight commands are rejected when their connection drops rather than resent after a
    // reconnect, when their caller has long given up and a newer write may have happened.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout,
    connectTimeout: options.connectTimeoutMs ?? CACHE_DEFAULTS.redis.connectTimeoutMs,
    socketTimeout: options.socketTimeoutMs ?? Math.max(1000, commandTimeout * 4),
    enableReadyCheck: true,
    // Never give up: exponential backoff capped at maxDelay, so hits return after a restart.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), maxDelay),
  };
}

/** Seconds to whole milliseconds for `PX`; 0 stays "no expiry", a tiny positive ttl is at least 1 ms. */
export function ttlMs(ttl: Seconds): number {
  if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError(`RedisBackend: ttl must be ≥ 0 seconds, got ${ttl}`);
  return ttl === 0 ? 0 : Math.max(1, Math.round(ttl * 1000));
}

/** Rejects a URL that is not `redis:` or `rediss:`, naming the option. */
export function validateUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('RedisBackend: `url` is not a valid URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`RedisBackend: \`url\` must start with redis:// or rediss://, got ${parsed.protocol}//`);
  }
}
