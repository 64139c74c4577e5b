import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../cache/index.ts';
import type { Logger } from '../../log.ts';
import type { AttemptCount, LoginAttemptStore } from './login-attempts.ts';

/** Options of {@link RedisLoginAttempts}. */
export interface RedisLoginAttemptsOptions {
  /** `redis://[:password@]host[:port][/db]` or `rediss://…`. */
  url: string;
  /** Every key is `prefix + client`, e.g. `kiln:sess:login-attempts:`. */
  prefix: string;
  clock?: Clock;
  /** Where connection trouble is reported, once per outage (default the console). */
  logger?: Logger;
  /** Longest a single command may take, in milliseconds (default 1000). */
  commandTimeoutMs?: number;
}

// A hash { n: count, e: window end on the app's clock } per client, updated by one script so
// that Kiln processes counting at once never lose an attempt. Redis expires the key when the
// window ends, so the keys of a spray of addresses disappear by themselves.
const HIT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local ends = tonumber(redis.call('HGET', KEYS[1], 'e'))
if ends == nil or ends <= now then
  redis.call('HSET', KEYS[1], 'n', 1, 'e', now + window)
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, now + window}
end
return {redis.call('HINCRBY', KEYS[1], 'n', 1), ends}`;

/**
 * Login attempts in Redis (`SESSION_STORE=redis`), shared by every Kiln process on it. A failed
 * command throws: the login answers an error rather than evaluate a password uncounted.
 */
export class RedisLoginAttempts implements LoginAttemptStore {
  /** The ioredis client (tests inspect key TTLs through it). */
  readonly client: Redis;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private healthy = true;

  constructor(options: RedisLoginAttemptsOptions) {
    if (options.prefix === '') throw new TypeError('RedisLoginAttempts: `prefix` must not be empty');
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
      if (!this.healthy) this.logger.info('login attempts: redis connection restored');
      this.healthy = true;
    });
  }

  /** Counts one attempt by `client` (one Lua script: atomic across processes). */
  async hit(client: string, windowMs: number): Promise<AttemptCount> {
    const reply = await this.client.eval(HIT_SCRIPT, 1, this.prefix + client, this.clock.now(), Math.max(1, Math.round(windowMs)));
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error('login attempts: unexpected reply from redis');
    return { count: Number(reply[0]), resetAt: Number(reply[1]) };
  }

  /** Deletes `client`'s key. */
  async reset(client: string): Promise<void> {
    await this.client.del(this.prefix + client);
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
    this.logger.warn(`login attempts: redis unavailable (${err instanceof Error ? err.message : String(err)}); logins are refused until it returns`);
  }
}
