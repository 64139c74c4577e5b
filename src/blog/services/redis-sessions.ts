import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../cache/index.ts';
import type { Logger } from '../../log.ts';
import { sessionTtl, type SessionData, type SessionStore } from './sessions.ts';

/** Options of {@link RedisSessionStore}; durations in milliseconds. */
export interface RedisSessionStoreOptions {
  /** `redis://[:password@]host[:port][/db]` or `rediss://…`. */
  url: string;
  /** Every session key is `prefix + id`, e.g. `kiln:sess:`. */
  prefix: string;
  clock?: Clock;
  /** Where connection trouble is reported, once per outage (default the console). */
  logger?: Logger;
  /** Longest a single command may take (default 1000). */
  commandTimeoutMs?: number;
}

// What is stored under a key: the data and the moment it ends on the store's clock. Redis also
// expires the key after the same lifetime, so abandoned sessions never pile up.
interface Stored {
  expiresAt: number;
  data: SessionData;
}

/**
 * Sessions in Redis, so every Kiln process sees the same ones. A failed read counts as no
 * session (the visitor is anonymous: safe, and public pages still answer); a failed write or
 * delete throws, so a login or logout never claims a success it did not have.
 */
export class RedisSessionStore implements SessionStore {
  /** The ioredis client (tests inspect key TTLs through it). */
  readonly client: Redis;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private healthy = true;

  constructor(options: RedisSessionStoreOptions) {
    if (options.prefix === '') throw new TypeError('RedisSessionStore: `prefix` must not be empty');
    this.prefix = options.prefix;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? console;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 10), 1000),
    });
    this.client.on('error', (err: Error) => this.trouble(err));
    this.client.on('ready', () => {
      if (!this.healthy) this.logger.info('sessions: redis connection restored');
      this.healthy = true;
    });
  }

  /** The session stored under `id`, or undefined when absent, expired, unreadable or Redis is unreachable. */
  async get(id: string): Promise<SessionData | undefined> {
    let raw: string | null;
    try {
      raw = await this.client.get(this.prefix + id);
    } catch (err) {
      this.trouble(err);
      return undefined;
    }
    if (raw === null) return undefined;
    let stored: Stored;
    try {
      stored = JSON.parse(raw) as Stored;
    } catch {
      return undefined;
    }
    if (!(stored.expiresAt > this.clock.now()) || typeof stored.data !== 'object' || stored.data === null) {
      await this.client.del(this.prefix + id).catch((err: unknown) => this.trouble(err));
      return undefined;
    }
    return stored.data;
  }

  /** Stores a session for `maxAge` milliseconds, with a Redis TTL of the same length. */
  async set(id: string, data: SessionData, maxAge?: number | 'session'): Promise<void> {
    const ttl = sessionTtl(maxAge);
    const stored: Stored = { expiresAt: this.clock.now() + ttl, data };
    await this.client.set(this.prefix + id, JSON.stringify(stored), 'PX', ttl);
  }

  /** Removes the session in every process at once. */
  async destroy(id: string): Promise<void> {
    await this.client.del(this.prefix + id);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    if (this.client.status !== 'ready') return this.client.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  // One line per outage, not one per failed command or reconnection attempt.
  private trouble(err: unknown): void {
    if (!this.healthy) return;
    this.healthy = false;
    this.logger.warn(`sessions: redis unavailable (${err instanceof Error ? err.message : String(err)}); authors appear signed out until it returns`);
  }
}
