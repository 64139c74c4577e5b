import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/cache/distributed/redis/backend.ts';
import { Cache } from '../../src/cache/cache.ts';
import { viewKey } from '../../src/cache/keys.ts';
import { lockKey } from '../../src/cache/keys.ts';
import { distributedFlight, type DistributedFlightOptions } from '../../src/cache/single-flight.ts';
import type { CacheLock } from '../../src/cache/types.ts';
import { readPage, startKilnFleet, type KilnFleet } from '../support/kiln-fleet.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { SHARED_REDIS_URL, requireRedis, requireRedisServerBinary } from '../support/services.ts';
import { uniquePrefix } from './helpers.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { waitUntil } from '../support/wait.ts';

const sharedUp = await requireRedis();
const canSpawn = await requireRedisServerBinary();

/** A scripted lock: `free` says, per attempt, whether it can be taken; releases are counted. */
function scriptedLock(free: boolean[]): { acquire: () => Promise<CacheLock | undefined>; released: () => number; attempts: () => number } {
  let attempts = 0;
  let released = 0;
  return {
    acquire: async () => {
      const ok = free[Math.min(attempts, free.length - 1)];
      attempts += 1;
      return ok ? { release: async () => ++released > 0 } : undefined;
    },
    released: () => released,
    attempts: () => attempts,
  };
}

/** Options with a fake clock whose sleeps advance it, and counters of computations and re-reads. */
function flight(overrides: Partial<DistributedFlightOptions<string>> & { stored?: (read: number) => string | undefined }) {
  const clock = new FakeClock();
  const counts = { computed: 0, reads: 0 };
  const options: DistributedFlightOptions<string> = {
    acquire: async () => undefined,
    recheck: async () => {
      counts.reads += 1;
      const value = overrides.stored?.(counts.reads);
      return value === undefined ? undefined : { value };
    },
    compute: async () => {
      counts.computed += 1;
      return 'computed';
    },
    ttlMs: 1000,
    clock,
    sleep: async (ms) => clock.advance(ms),
    ...overrides,
  };
  return { options, counts, clock };
}

describe('distributedFlight()', () => {
  it('re-reads once the lock is taken, computes once, and releases the lock', async () => {
    const lock = scriptedLock([true]);
    const { options, counts } = flight({ acquire: lock.acquire });
    expect(await distributedFlight(options)).toBe('computed');
    expect(counts).toEqual({ computed: 1, reads: 1 });
    expect(lock.released()).toBe(1);
  });

  it('returns what another process stored meanwhile instead of computing, even after taking the lock', async () => {
    const lock = scriptedLock([true]);
    const { options, counts } = flight({ acquire: lock.acquire, stored: () => 'theirs' });
    expect(await distributedFlight(options)).toBe('theirs');
    expect(counts.computed).toBe(0);
    expect(lock.released()).toBe(1);
  });

  it('waits while another process holds the lock and returns its value as soon as it is stored', async () => {
    const lock = scriptedLock([false]);
    const { options, counts } = flight({ acquire: lock.acquire, stored: (read) => (read >= 3 ? 'theirs' : undefined) });
    expect(await distributedFlight(options)).toBe('theirs');
    expect(counts.computed).toBe(0);
    expect(lock.released()).toBe(0);
  });

  it('computes once the holder is gone (its lock freed or expired) without having stored anything', async () => {
    const lock = scriptedLock([false, false, false, true]);
    const { options, counts } = flight({ acquire: lock.acquire });
    expect(await distributedFlight(options)).toBe('computed');
    expect(counts.computed).toBe(1);
    expect(lock.attempts()).toBe(4);
  });

  it('stops waiting after the lock lifetime and computes, if the lock keeps being taken', async () => {
    const { options, counts, clock } = flight({ ttlMs: 300 });
    const start = clock.now();
    expect(await distributedFlight(options)).toBe('computed');
    expect(counts.computed).toBe(1);
    expect(clock.now() - start).toBeGreaterThanOrEqual(300);
    expect(clock.now() - start).toBeLessThan(300 + 50);
  });

  it('computes without the lock when the lock cannot be asked for (fail open)', async () => {
    const { options, counts } = flight({ acquire: () => Promise.reject(new Error('redis down')) });
    expect(await distributedFlight(options)).toBe('computed');
    expect(counts.computed).toBe(1);
  });

  it('releases the lock when the computation throws, and passes the error on', async () => {
    const lock = scriptedLock([true]);
    const { options } = flight({ acquire: lock.acquire, compute: () => Promise.reject(new Error('render failed')) });
    await expect(distributedFlight(options)).rejects.toThrow('render failed');
    expect(lock.released()).toBe(1);
  });
});

describe.skipIf(!sharedUp)('redisBackend.lock()', () => {
  const backends: RedisBackend[] = [];
  afterEach(async () => {
    for (const backend of backends.splice(0)) {
      await backend.clear();
      await backend.close();
    }
  });

  function backend(prefix: string): RedisBackend {
    const made = new RedisBackend({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2000 });
    backends.push(made);
    return made;
  }

  it('is held by one process at a time, until released', async () => {
    const prefix = uniquePrefix('lock');
    const [a, b] = [backend(prefix), backend(prefix)];
    const held = await a.lock('k', 5000);
    expect(held).toBeDefined();
    expect(await b.lock('k', 5000)).toBeUndefined();
    expect(await held?.release()).toBe(true);
    expect(await b.lock('k', 5000)).toBeDefined();
  });

  it("expires by itself, and a late holder's release never frees the next holder's lock", async () => {
    const prefix = uniquePrefix('lock-expiry');
    const [a, b, c] = [backend(prefix), backend(prefix), backend(prefix)];
    const late = await a.lock('k', 20);
    let next = await b.lock('k', 5000);
    await waitUntil(async () => (next ??= await b.lock('k', 5000)) !== undefined, { timeoutMs: 2000, what: 'the 20 ms lock to expire' });
    expect(await late?.release()).toBe(false);
    expect(await c.lock('k', 5000)).toBeUndefined();
    expect(await next?.release()).toBe(true);
  });

  it('lets a cache wait out a crashed holder for no longer than the lock lifetime', async () => {
    const prefix = uniquePrefix('lock-crash');
    const raw = new Redis(SHARED_REDIS_URL);
    try {
      // Timed from before the lock is set, so a slow start cannot shorten the wait it measures.
      const started = performance.now();
      await raw.set(prefix + lockKey('page'), 'crashed-holder', 'PX', 80);
      const cache = new Cache({ backend: backend(prefix), lockTtlMs: 5000 });
      let computed = 0;
      expect(await cache.getOrSet('page', () => `rendered ${++computed}`)).toBe('rendered 1');
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(60);
      expect(waited).toBeLessThan(80 + 500);
    } finally {
      raw.disconnect();
    }
  });
});

describe.skipIf(!canSpawn)('distributed single-flight across three real Kiln processes', () => {
  const PREFIX = 'kiln:';
  let server: RedisServer;
  let fleet: KilnFleet | undefined;
  let raw: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
    fleet = await startKilnFleet(3, { CACHE_TYPE: 'redis', CACHE_REDIS_URL: server.url, CACHE_KEY_PREFIX: PREFIX });
  }, 60_000);

  afterAll(async () => {
    raw?.disconnect();
    await fleet?.stop();
    await server?.stop();
  });

  it('renders a cold page once for 200 concurrent requests spread over the three', async () => {
    const nodes = fleet?.nodes ?? [];
    const pages = await Promise.all(Array.from({ length: 200 }, (_, i) => readPage(`${nodes[i % nodes.length].url}/`)));
    const misses = pages.filter((page) => page.xCache === 'MISS').length;
    console.log(`[scale-out] 200 concurrent cold requests over 3 processes: ${misses} render(s)`);
    const outcomes = new Map<string, number>();
    for (const page of pages) outcomes.set(`${page.status} ${page.xCache}`, (outcomes.get(`${page.status} ${page.xCache}`) ?? 0) + 1);
    expect(Object.fromEntries(outcomes)).toEqual({ '200 MISS': 1, '200 HIT': 199 });
    expect(new Set(pages.map((page) => page.text)).size).toBe(1);
  }, 60_000);

  it('renders a page whose lock a crashed process left behind once that lock expires', async () => {
    const [, b] = fleet?.nodes ?? [];
    const key = viewKey('page:about', '/about', '', { queryString: false });
    await raw.set(PREFIX + lockKey(key), 'crashed-holder', 'PX', 1500);
    const started = performance.now();
    const page = await readPage(`${b.url}/about`);
    const waited = performance.now() - started;
    expect(page.status).toBe(200);
    expect(page.xCache).toBe('MISS');
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(1500 + 1500);
    expect((await readPage(`${b.url}/about`)).xCache).toBe('HIT');
  }, 30_000);
});
