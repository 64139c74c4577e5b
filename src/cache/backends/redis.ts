import { Redis, type RedisOptions } from 'ioredis';
import type { BackendStats, CacheBackend, Clock, Seconds } from '../types.ts';

/** Options of {@link RedisBackend}; every duration is in milliseconds. */
export interface RedisBackendOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://…`; wins over `host`/`port`. */
  url?: string;
  /** Server host when no `url` is given (default `127.0.0.1`). */
  host?: string;
  /** Server port when no `url` is given (default 6379). */
  port?: number;
  /** Password, used when the URL carries none. */
  password?: string;
  /** Database index, used when the URL names none. */
  db?: number;
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
  /** An existing client to use instead of opening one; `close()` then leaves it open. */
  client?: Redis;
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

const SCAN_COUNT = 500;
const DEFAULT_COMMAND_TIMEOUT_MS = 250;

/** The ioredis settings that make a client fail fast and heal itself in the background. */
export function failFastOptions(options: Omit<RedisBackendOptions, 'prefix' | 'client'>): RedisOptions {
  const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  return {
    ...(options.url === undefined ? { host: options.host ?? '127.0.0.1', port: options.port ?? 6379 } : {}),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.db === undefined ? {} : { db: options.db }),
    // Commands issued while disconnected reject at once instead of piling up for a replay.
    enableOfflineQueue: false,
    // In-flight commands are rejected when their connection drops rather than resent after a
    // reconnect, when their caller has long given up and a newer write may have happened.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    socketTimeout: options.socketTimeoutMs ?? Math.max(1000, commandTimeout * 4),
    enableReadyCheck: true,
    // Never give up: exponential backoff capped at maxDelay, so hits return after a restart.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), maxDelay),
  };
}

/**
 * A cache backend on Redis through ioredis, configured to fail fast: no offline queue, no
 * retries of a request, a hard per-operation timeout, and reconnection in the background.
 * Keys are `prefix + key`; `clear()` scans only that prefix.
 *
 * @example
 * const backend = withBreaker(new RedisBackend({ url: 'redis://127.0.0.1:6379/0', prefix: 'kiln:' }),
 *   { isFailure: isRedisOutage });
 */
export class RedisBackend implements CacheBackend {
  /** Backend name used in events and stats. */
  readonly name = 'redis';
  /** The ioredis client, for inspection and for tests. */
  readonly client: Redis;
  /** The key prefix every entry carries. */
  readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly ownsClient: boolean;
  private connecting: Promise<void> | undefined;

  constructor(options: RedisBackendOptions) {
    if (typeof options.prefix !== 'string' || options.prefix === '') {
      throw new TypeError('RedisBackend: `prefix` must be a non-empty string (clear() removes everything under it)');
    }
    if (options.url !== undefined) validateUrl(options.url);
    this.prefix = options.prefix;
    this.timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError('RedisBackend: `commandTimeoutMs` must be positive');
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      (options.url === undefined ? new Redis(failFastOptions(options)) : new Redis(options.url, failFastOptions(options)));
    // Connection errors also reject the commands that meet them; the cache counts and logs those
    // once per state change, so our own client's error events are only silenced here.
    if (this.ownsClient) this.client.on('error', () => {});
  }

  /** Whether the client currently has a ready connection (for health checks). */
  get connected(): boolean {
    return this.client.status === 'ready';
  }

  /** The stored string, or `undefined`. */
  async get(key: string): Promise<string | undefined> {
    const value = await this.run((c) => c.get(this.prefix + key));
    return value ?? undefined;
  }

  /** Stores the value with `SET … PX` (no expiry for a ttl of 0). */
  async set(key: string, value: string, ttl: Seconds): Promise<void> {
    const ms = ttlMs(ttl);
    await this.run((c) => (ms === 0 ? c.set(this.prefix + key, value) : c.set(this.prefix + key, value, 'PX', ms)));
  }

  /** `SET … NX`: stores only when absent. */
  async add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    const ms = ttlMs(ttl);
    const reply = await this.run((c) =>
      ms === 0 ? c.set(this.prefix + key, value, 'NX') : c.set(this.prefix + key, value, 'PX', ms, 'NX'),
    );
    return reply === 'OK';
  }

  /** `UNLINK`: removes the key without blocking the server on large values. */
  async delete(key: string): Promise<boolean> {
    return (await this.run((c) => c.unlink(this.prefix + key))) > 0;
  }

  /** `EXISTS`. */
  async has(key: string): Promise<boolean> {
    return (await this.run((c) => c.exists(this.prefix + key))) > 0;
  }

  /**
   * Removes every key under the prefix with `SCAN MATCH <escaped prefix>* COUNT 500` and `UNLINK`
   * in batches; never `KEYS`, `FLUSHDB` or `FLUSHALL`. Each round trip has its own timeout.
   */
  async clear(): Promise<void> {
    const pattern = `${escapeGlob(this.prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.run((c) => c.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
      if (keys.length > 0) await this.run((c) => c.unlink(...keys));
      cursor = next;
    } while (cursor !== '0');
  }

  /** `MGET` of all keys in one round trip. */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.run((c) => c.mget(keys.map((k) => this.prefix + k)));
    return values.map((v) => v ?? undefined);
  }

  /** One `MULTI … EXEC` of `SET … PX`, so the entries land together. */
  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    if (entries.length === 0) return;
    const ms = ttlMs(ttl);
    const results = await this.run((c) => {
      const multi = c.multi();
      for (const [key, value] of entries) {
        if (ms === 0) multi.set(this.prefix + key, value);
        else multi.set(this.prefix + key, value, 'PX', ms);
      }
      return multi.exec();
    });
    if (results === null) throw new RedisUnavailableError('Redis: MULTI was aborted');
    for (const [error] of results) if (error) throw error;
  }

  /** One `UNLINK` of all keys; resolves how many existed. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.run((c) => c.unlink(...keys.map((k) => this.prefix + k)));
  }

  /** `INCRBY`: atomic across every client of the server; keeps the key's expiry. */
  async incr(key: string, delta: number): Promise<number> {
    if (!Number.isSafeInteger(delta)) throw new RangeError(`RedisBackend.incr: delta must be an integer, got ${delta}`);
    return this.run((c) => c.incrby(this.prefix + key, delta));
  }

  /**
   * Nothing: Redis cannot count or size the keys under one prefix without a scan, and
   * `DBSIZE`/`used_memory` describe the whole database, not this cache.
   */
  async stats(): Promise<BackendStats> {
    return {};
  }

  /** Quits gracefully (bounded by the command timeout) when this backend opened the client. */
  async close(): Promise<void> {
    if (!this.ownsClient) return;
    if (this.client.status === 'ready') await this.run((c) => c.quit()).catch(() => {});
    this.client.disconnect();
  }

  /**
   * Runs one round trip under a hard deadline: waits for a connection only while one is being
   * made, rejects at once while the client is reconnecting, and never exceeds the timeout.
   */
  private run<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisTimeoutError(`Redis: no reply within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.ready()
        .then(() => command(this.client))
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  }

  /**
   * Resolves once the client is ready, or rejects as soon as it is known not to be. Callers
   * waiting on one connection attempt share one set of listeners.
   */
  private ready(): Promise<void> {
    const client = this.client;
    switch (client.status) {
      case 'ready':
        return Promise.resolve();
      case 'wait':
        client.connect().catch(() => {});
        break;
      case 'connecting':
      case 'connect':
        break;
      default:
        return Promise.reject(new RedisUnavailableError(`Redis: not connected (${client.status})`));
    }
    this.connecting ??= new Promise<void>((resolve, reject) => {
      // No timer of its own: ioredis ends every attempt (connect/command timeout → close),
      // and each caller's run() deadline bounds its wait.
      const onReady = (): void => settle();
      const onDown = (): void => settle(new RedisUnavailableError(`Redis: connection failed (${client.status})`));
      const settle = (error?: Error): void => {
        client.off('ready', onReady);
        client.off('close', onDown);
        client.off('end', onDown);
        this.connecting = undefined;
        if (error) reject(error);
        else resolve();
      };
      client.once('ready', onReady);
      client.once('close', onDown);
      client.once('end', onDown);
    });
    this.connecting.catch(() => {});
    return this.connecting;
  }
}

/** Seconds to whole milliseconds for `PX`; 0 stays "no expiry", a tiny positive ttl is at least 1 ms. */
function ttlMs(ttl: Seconds): number {
  if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError(`RedisBackend: ttl must be ≥ 0 seconds, got ${ttl}`);
  return ttl === 0 ? 0 : Math.max(1, Math.round(ttl * 1000));
}

/** Rejects a URL that is not `redis:` or `rediss:`, naming the option. */
function validateUrl(url: string): void {
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
