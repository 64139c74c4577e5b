import type { Redis, RedisOptions } from 'ioredis';
import { COMPARE_AND_DELETE, takeLock } from './lock.ts';
import type { BackendStats, CacheBackend, CacheLock, Seconds } from '../../types.ts';
import { CACHE_DEFAULTS } from '../../defaults.ts';
import {
  escapeGlob,
  failFastOptions,
  RedisUnavailableError,
  RedisTimeoutError,
  ttlMs,
  validateUrl,
  type RedisBackendOptions,
} from './options.ts';
import { RedisCoherenceLink } from './pubsub.ts';
import { createRedisClient, groupBySlot, isCluster, topologyOf, type RedisClient } from './topology.ts';

export {
  escapeGlob,
  failFastOptions,
  isRedisOutage,
  RedisTimeoutError,
  RedisUnavailableError,
  type RedisBackendOptions,
} from './options.ts';

const SCAN_COUNT = 500;

/**
 * A cache backend on Redis through ioredis, configured to fail fast: no offline queue, no
 * retries of a request, a hard per-operation timeout, and reconnection in the background.
 * Keys are `prefix + key`; `clear()` scans only that prefix. A single server, Sentinel or a
 * Cluster (multi-key commands split per hash slot, `clear()` on every master; see
 * topology.ts). It offers the distributed lock (lock.ts) and the coherence bus
 * (`coherenceLink()`, see ../coherence/) the near cache uses.
 *
 * @example
 * const backend = withBreaker(new RedisBackend({ url: 'redis://127.0.0.1:6379/0', prefix: 'kiln:' }),
 *   { isFailure: isRedisOutage });
 */
export class RedisBackend implements CacheBackend {
  /** Backend name used in events and stats. */
  readonly name = 'redis';
  /** The ioredis client, for inspection and for tests. */
  readonly client: RedisClient;
  /** The key prefix every entry carries. */
  readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly ownsClient: boolean;
  private readonly cluster: boolean;
  private readonly nodeOptions: RedisOptions;
  private connecting: Promise<void> | undefined;
  /** Until then (performance.now() ms) commands fail at once: one just went unanswered (see run). */
  private stalledUntil = 0;

  constructor(options: RedisBackendOptions) {
    if (typeof options.prefix !== 'string' || options.prefix === '') {
      throw new TypeError('RedisBackend: `prefix` must be a non-empty string (clear() removes everything under it)');
    }
    if (options.url !== undefined) validateUrl(options.url);
    if (topologyOf(options) === 'sentinel' && !options.sentinelMaster) {
      throw new TypeError('RedisBackend: `sentinelMaster` is required with `sentinels`');
    }
    this.prefix = options.prefix;
    this.timeoutMs = options.commandTimeoutMs ?? CACHE_DEFAULTS.redis.commandTimeoutMs;
    if (!(this.timeoutMs > 0)) throw new RangeError('RedisBackend: `commandTimeoutMs` must be positive');
    this.ownsClient = options.client === undefined;
    this.nodeOptions = failFastOptions(options);
    this.client = options.client ?? createRedisClient(options, this.nodeOptions);
    this.cluster = isCluster(this.client);
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
    const client = this.client;
    const nodes = isCluster(client) ? await this.run(async (c) => (isCluster(c) ? c.nodes('master') : [])) : [client];
    await Promise.all(nodes.map((node) => this.clearNode(node)));
  }

  /** SCAN + UNLINK of the prefix on one server (a Cluster master holds only its own slots). */
  private async clearNode(node: Redis): Promise<void> {
    const pattern = `${escapeGlob(this.prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
      await Promise.all(this.slotGroups(keys).map((group) => this.run((c) => c.unlink(...group))));
      cursor = next;
    } while (cursor !== '0');
  }

  /** Full keys in groups one multi-key command can take: all together, or per slot on a Cluster. */
  private slotGroups(keys: readonly string[]): string[][] {
    if (keys.length === 0) return [];
    if (!this.cluster) return [[...keys]];
    return groupBySlot(keys).map((group) => group.map((i) => keys[i]));
  }

  /** `MGET` of all keys in one round trip (one per hash slot on a Cluster, in parallel). */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = new Array<string | undefined>(keys.length).fill(undefined);
    await Promise.all(
      this.positions(keys).map(async (group) => {
        const values = await this.run((c) => c.mget(group.map((i) => this.prefix + keys[i])));
        group.forEach((i, j) => (out[i] = values[j] ?? undefined));
      }),
    );
    return out;
  }

  /** One `MULTI … EXEC` of `SET … PX`, so the entries land together (per hash slot on a Cluster). */
  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    const ms = ttlMs(ttl);
    const groups = this.positions(entries.map(([key]) => key));
    await Promise.all(
      groups.map(async (group) => {
        const results = await this.run((c) => {
          const multi = c.multi();
          for (const i of group) {
            const [key, value] = entries[i];
            if (ms === 0) multi.set(this.prefix + key, value);
            else multi.set(this.prefix + key, value, 'PX', ms);
          }
          return multi.exec();
        });
        if (results === null) throw new RedisUnavailableError('Redis: MULTI was aborted');
        for (const [error] of results) if (error) throw error;
      }),
    );
  }

  /** One `UNLINK` of all keys (per hash slot on a Cluster); resolves how many existed. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    const counts = await Promise.all(
      this.positions(keys).map((group) => this.run((c) => c.unlink(...group.map((i) => this.prefix + keys[i])))),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Positions of `keys` grouped for multi-key commands (by the slot of the prefixed key on a Cluster). */
  private positions(keys: readonly string[]): number[][] {
    if (keys.length === 0) return [];
    if (!this.cluster) return [keys.map((_, i) => i)];
    return groupBySlot(keys.map((key) => this.prefix + key));
  }

  /**
   * The value and its remaining time to live in seconds (0 = no expiry), in one round trip
   * (`GET` + `PTTL`), for each key; undefined for a miss. The near cache keeps copies no longer.
   */
  async getManyWithTtl(keys: readonly string[]): Promise<({ value: string; ttl: Seconds } | undefined)[]> {
    const out: ({ value: string; ttl: Seconds } | undefined)[] = new Array<undefined>(keys.length).fill(undefined);
    await Promise.all(
      this.positions(keys).map(async (group) => {
        const replies = await this.run((c) => {
          const pipeline = c.pipeline();
          for (const i of group) pipeline.get(this.prefix + keys[i]).pttl(this.prefix + keys[i]);
          return pipeline.exec();
        });
        if (replies === null) throw new RedisUnavailableError('Redis: pipeline was aborted');
        group.forEach((i, j) => {
          const [getError, value] = replies[2 * j];
          const [ttlError, pttl] = replies[2 * j + 1];
          if (getError) throw getError;
          if (ttlError) throw ttlError;
          if (typeof value !== 'string' || typeof pttl !== 'number' || pttl === -2) return;
          out[i] = { value, ttl: pttl < 0 ? 0 : Math.max(pttl, 1) / 1000 };
        });
      }),
    );
    return out;
  }

  /**
   * A lock for distributed single-flight: `SET <prefix>key token NX PX ttlMs`, released by a
   * compare-and-delete script so only its holder frees it (lock.ts).
   */
  lock(key: string, ttlMs: number): Promise<CacheLock | undefined> {
    return takeLock(
      {
        setIfAbsent: async (k, token, ms) => (await this.run((c) => c.set(this.prefix + k, token, 'PX', ms, 'NX'))) === 'OK',
        deleteIfEquals: async (k, token) => (await this.run((c) => c.eval(COMPARE_AND_DELETE, 1, this.prefix + k, token))) === 1,
      },
      key,
      ttlMs,
    );
  }

  /** The pub/sub bus for near-cache coherence, on its own subscription connection (../coherence/). */
  coherenceLink(): RedisCoherenceLink {
    return new RedisCoherenceLink({ client: this.client, run: (command) => this.run(command), prefix: this.prefix, nodeOptions: this.nodeOptions });
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
  private run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    // Redis answers in order, so behind a command that went unanswered the next one would wait
    // too: for one timeout's length, fail at once, so a request with several cache operations
    // waits one timeout in all, not one per operation, while Redis is frozen.
    if (performance.now() < this.stalledUntil) {
      return Promise.reject(new RedisTimeoutError('Redis: the previous command got no reply in time; failing fast'));
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stalledUntil = performance.now() + this.timeoutMs;
        reject(new RedisTimeoutError(`Redis: no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.ready()
        .then(() => command(this.client))
        .then((value) => {
          this.stalledUntil = 0;
          resolve(value);
        }, reject)
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
