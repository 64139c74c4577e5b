import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend, escapeGlob, failFastOptions, isRedisOutage } from '../../src/cache/distributed/redis/backend.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { SHARED_REDIS_URL, requireRedis, requireRedisServerBinary } from '../support/services.ts';
import { backendContract } from './backend-contract.ts';
import { uniquePrefix } from './helpers.ts';
import { waitUntil } from '../support/wait.ts';

const sharedUp = await requireRedis();
const canSpawn = await requireRedisServerBinary();

/** Every key of the shared Redis under `prefix`, found with SCAN (tests only). */
async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

describe.skipIf(!sharedUp)('RedisBackend on the shared Redis', () => {
  // The contract checks semantics, not fail-fast: a generous timeout keeps its 1 MB values from
  // timing out on a loaded machine (redis-faults.test.ts proves the 250 ms default).
  backendContract(
    'redis',
    async ({ prefix }) => new RedisBackend({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 5000 }),
    undefined,
    { fakeClock: false },
  );

  let direct: Redis;
  const backends: RedisBackend[] = [];
  const base = uniquePrefix('redis-extra');

  function backend(prefix: string): RedisBackend {
    const made = new RedisBackend({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 5000 });
    backends.push(made);
    return made;
  }

  beforeAll(() => {
    direct = new Redis(SHARED_REDIS_URL);
  });

  afterEach(async () => {
    for (const made of backends.splice(0)) {
      await made.clear();
      await made.close();
    }
    const leftovers = await keysUnder(direct, base);
    if (leftovers.length > 0) await direct.unlink(...leftovers);
  });

  afterAll(async () => {
    await direct.quit();
  });

  describe('redisBackend.set()', () => {
    it('writes the key under the prefix with a millisecond expiry, and none for a timeout of 0', async () => {
      const cache = backend(`${base}ttl:`);
      await cache.set('a', 'v', 30);
      await cache.set('half', 'v', 0.5);
      await cache.set('forever', 'v', 0);
      const ttlA = await direct.pttl(`${base}ttl:a`);
      expect(ttlA).toBeGreaterThan(29_000);
      expect(ttlA).toBeLessThanOrEqual(30_000);
      expect(await direct.pttl(`${base}ttl:half`)).toBeLessThanOrEqual(500);
      expect(await direct.pttl(`${base}ttl:forever`)).toBe(-1);
    });

    it('rejects a negative or non-finite timeout instead of guessing', async () => {
      const cache = backend(`${base}bad:`);
      await expect(cache.set('a', 'v', -1)).rejects.toThrow(RangeError);
      await expect(cache.set('a', 'v', Number.NaN)).rejects.toThrow(RangeError);
      expect(await direct.exists(`${base}bad:a`)).toBe(0);
    });
  });

  describe('redisBackend.clear()', () => {
    it('removes only keys under its own prefix', async () => {
      const ours = backend(`${base}ours:`);
      await ours.set('a', '1', 0);
      await ours.set('b', '2', 0);
      await direct.set(`${base}foreign:a`, 'keep');
      await direct.set(`${base}oursX`, 'keep'); // shares the text before the colon only
      await ours.clear();
      expect(await keysUnder(direct, `${base}ours:`)).toEqual([]);
      expect(await direct.get(`${base}foreign:a`)).toBe('keep');
      expect(await direct.get(`${base}oursX`)).toBe('keep');
    });

    it('treats glob characters in the prefix literally', async () => {
      const globby = backend(`${base}g*[ab]?\\:`);
      await globby.set('mine', '1', 0);
      // Each of these would match the prefix if it were used as an unescaped pattern.
      const lookalikes = [`${base}gZZb-:k`, `${base}g*a?:k`, `${base}g[ab]b-:k`];
      for (const key of lookalikes) await direct.set(key, 'keep');
      await globby.clear();
      expect(await globby.get('mine')).toBeUndefined();
      for (const key of lookalikes) expect(await direct.get(key)).toBe('keep');
    });

    it('removes more keys than one SCAN batch holds', async () => {
      const many = backend(`${base}many:`);
      const pipeline = direct.pipeline();
      for (let i = 0; i < 1_300; i++) pipeline.set(`${base}many:${i}`, 'v');
      await pipeline.exec();
      await many.clear();
      expect(await keysUnder(direct, `${base}many:`)).toEqual([]);
    });
  });

  describe('redisBackend.incr()', () => {
    it('is atomic under 200 concurrent increments from two clients', async () => {
      const one = backend(`${base}count:`);
      const two = backend(`${base}count:`);
      await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? one : two).incr('n', 1)));
      expect(await one.get('n')).toBe('200');
      expect(await two.incr('n', -200)).toBe(0);
    });

    it('rejects a fractional delta', async () => {
      await expect(backend(`${base}frac:`).incr('n', 0.5)).rejects.toThrow(RangeError);
    });
  });

  describe('new RedisBackend({ client })', () => {
    it('uses the injected client and leaves it open on close()', async () => {
      const client = new Redis(SHARED_REDIS_URL);
      const cache = new RedisBackend({ client, prefix: `${base}injected:` });
      await cache.set('a', 'v', 0);
      expect(await client.get(`${base}injected:a`)).toBe('v');
      await cache.clear();
      await cache.close();
      expect(await client.ping()).toBe('PONG');
      await client.quit();
    });
  });
});

describe('failFastOptions()', () => {
  it('disables the offline queue and request retries, and sets the command timeout', () => {
    const options = failFastOptions({ commandTimeoutMs: 300 });
    expect(options).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 300, enableReadyCheck: true });
  });

  it('keeps reconnecting forever with a growing delay capped at maxReconnectDelayMs', () => {
    const { retryStrategy } = failFastOptions({ maxReconnectDelayMs: 800 });
    const delays = [1, 2, 3, 5, 10, 100, 100_000].map((times) => retryStrategy?.(times));
    expect(delays).toEqual([50, 100, 200, 800, 800, 800, 800]);
  });
});

describe('escapeGlob()', () => {
  it('escapes every glob character of a MATCH pattern', () => {
    expect(escapeGlob('a*b?c[d]e\\f:')).toBe('a\\*b\\?c\\[d\\]e\\\\f:');
  });
});

describe('isRedisOutage()', () => {
  it('counts connection trouble, not reply errors or bad arguments', () => {
    expect(isRedisOutage(new Error('Command timed out'))).toBe(true);
    expect(isRedisOutage(Object.assign(new Error('WRONGTYPE'), { name: 'ReplyError' }))).toBe(false);
    expect(isRedisOutage(new RangeError('ttl'))).toBe(false);
  });
});

describe('new RedisBackend()', () => {
  it('refuses an empty prefix, which would make clear() remove the whole database', () => {
    expect(() => new RedisBackend({ prefix: '' })).toThrow(/prefix/);
  });

  it('refuses a malformed or non-redis URL, naming the option', () => {
    expect(() => new RedisBackend({ prefix: 'p:', url: 'not a url' })).toThrow(/`url`/);
    expect(() => new RedisBackend({ prefix: 'p:', url: 'http://127.0.0.1:6379' })).toThrow(/`url`/);
  });
});

describe.skipIf(!canSpawn)('redisBackend.clear() on a server without KEYS or FLUSH*', () => {
  let server: RedisServer;
  let cache: RedisBackend;
  let other: Redis;
  let monitor: Redis;

  beforeAll(async () => {
    server = await startRedisServer({
      args: ['--rename-command', 'KEYS', '', '--rename-command', 'FLUSHDB', '', '--rename-command', 'FLUSHALL', ''],
    });
    cache = new RedisBackend({ url: server.url, prefix: 'app:', commandTimeoutMs: 5000 });
    other = new Redis(server.url);
    // Both connections finish their ready check (an INFO) first: an INFO that MONITOR reports
    // before ioredis has put the monitor in its monitoring state breaks its reply queue.
    await Promise.all([other.ping(), cache.get('ready')]);
    monitor = await other.monitor();
  });

  afterAll(async () => {
    monitor?.disconnect();
    other?.disconnect();
    await cache.close();
    await server.stop();
  });

  it('still clears, using only SCAN and UNLINK', async () => {
    await other.set('else:k', 'keep');
    await cache.setMany(
      Array.from({ length: 600 }, (_, i) => [`k${i}`, 'v'] as const),
      0,
    );
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));

    await cache.clear();
    // MONITOR reports asynchronously; a marker command shows everything before it has arrived.
    await other.echo('clear-done');
    await waitUntil(() => seen.includes('echo clear-done'), { timeoutMs: 1000, what: 'the marker command in MONITOR' });
    const during = seen.slice(0, seen.indexOf('echo clear-done'));

    expect(await other.dbsize()).toBe(1);
    expect(await other.get('else:k')).toBe('keep');
    const names = new Set(during.map((line) => line.split(' ')[0]?.toLowerCase()));
    expect([...names].sort()).toEqual(['scan', 'unlink']);
    expect(during.some((line) => /^scan \d+ MATCH app:\* COUNT 500$/i.test(line))).toBe(true);
  });
});
