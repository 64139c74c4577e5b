import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { Cache } from '../../src/cache/cache.ts';
import type { CacheBackend, CacheEvent, Seconds } from '../../src/cache/types.ts';
import { FlakyBackend } from './helpers.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

function setup(options: { jitter?: number; random?: () => number; defaultTimeout?: Seconds } = {}) {
  const clock = new FakeClock();
  const backend = new MemoryBackend({ clock });
  const logger = new MemoryLogger();
  const cache = new Cache({ backend, clock, logger, ...options });
  const events: CacheEvent[] = [];
  cache.events.on('op', (event: CacheEvent) => events.push(event));
  return { clock, backend, cache, logger, events };
}

function flaky() {
  const clock = new FakeClock();
  const backend = new FlakyBackend(new MemoryBackend({ clock }));
  const logger = new MemoryLogger();
  const cache = new Cache({ backend, clock, logger });
  const events: CacheEvent[] = [];
  cache.events.on('op', (event: CacheEvent) => events.push(event));
  return { backend, cache, logger, events };
}

/** Records the timeout of every write, to observe jitter. */
class TtlRecorder extends MemoryBackend {
  readonly ttls: Seconds[] = [];
  override async set(key: string, value: string, ttl: Seconds): Promise<void> {
    this.ttls.push(ttl);
    return super.set(key, value, ttl);
  }
}

describe('cache.get() / set()', () => {
  it('returns undefined after the timeout and the value before it', async () => {
    const { cache, clock } = setup();
    await cache.set('k', 'v', { timeout: 10 });
    clock.advance(9_999);
    expect(await cache.get('k')).toBe('v');
    clock.advance(2);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('uses the default timeout when none is given', async () => {
    const { cache, clock } = setup({ defaultTimeout: 60 });
    await cache.set('k', 'v');
    clock.advance(59_000);
    expect(await cache.get('k')).toBe('v');
    clock.advance(1_001);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('refuses undefined, values with no data form and bad timeouts with a TypeError', async () => {
    const { cache } = setup();
    await expect(cache.set('k', undefined)).rejects.toThrow(/undefined/);
    await expect(cache.set('k', () => 1)).rejects.toThrow(TypeError);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(cache.set('k', circular)).rejects.toThrow(/circular/);
    await expect(cache.set('k', 1, { timeout: -1 })).rejects.toThrow(/timeout/);
    await expect(cache.set('k', 1, { timeout: Number.NaN })).rejects.toThrow(/timeout/);
    await expect(cache.getOrSet('k', () => 1, { timeout: -1 })).rejects.toThrow(/timeout/);
  });

  it('accepts setMany() as a record or as pairs', async () => {
    const { cache } = setup();
    await cache.setMany({ a: 1, b: [2] });
    await cache.setMany([['c', { three: 3 }]]);
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, [2], { three: 3 }]);
  });
});

describe('cache jitter', () => {
  it('stores a timeout within [t × (1 − jitter), t] drawn from the injected random source', async () => {
    const clock = new FakeClock();
    const backend = new TtlRecorder({ clock });
    const draws = [0, 0.5, 0.999999];
    const cache = new Cache({ backend, clock, jitter: 0.2, random: () => draws.shift() ?? 0 });
    await cache.set('a', 1, { timeout: 100 });
    await cache.set('b', 1, { timeout: 100 });
    await cache.set('c', 1, { timeout: 100 });
    await cache.set('forever', 1, { timeout: 0 });
    expect(backend.ttls).toEqual([100, 90, 80, 0]);
  });

  it('spreads the expiry of keys stored together', async () => {
    const clock = new FakeClock();
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const cache = new Cache({ backend: new MemoryBackend({ clock }), clock, jitter: 0.5, random });
    for (let i = 0; i < 20; i += 1) await cache.set(`k${i}`, i, { timeout: 100 });
    clock.advance(75_000);
    const alive = (await cache.getMany(Array.from({ length: 20 }, (_, i) => `k${i}`))).filter((v) => v !== undefined);
    expect(alive.length).toBeGreaterThan(0);
    expect(alive.length).toBeLessThan(20);
  });

  it('rejects a jitter outside 0..1', () => {
    expect(() => new Cache({ backend: new MemoryBackend(), jitter: 1.5 })).toThrow(/jitter/);
  });
});

describe('cache.getOrSet() options', () => {
  it('bypasses the cache entirely with unless', async () => {
    const { backend, cache } = flaky();
    let calls = 0;
    await cache.getOrSet('k', () => ++calls, { unless: () => true });
    await cache.getOrSet('k', () => ++calls, { unless: () => true });
    expect(calls).toBe(2);
    expect(backend.calls).toBe(0);
  });

  it('recomputes and overwrites with forcedUpdate', async () => {
    const { cache } = setup();
    let calls = 0;
    await cache.getOrSet('k', () => ++calls);
    expect(await cache.getOrSet('k', () => ++calls, { forcedUpdate: () => true })).toBe(2);
    expect(await cache.getOrSet('k', () => ++calls)).toBe(2);
  });

  it('does not store a result rejected by shouldCache', async () => {
    const { cache } = setup();
    let calls = 0;
    const compute = () => ({ status: 500, n: ++calls });
    await cache.getOrSet('k', compute, { shouldCache: (r) => r.status === 200 });
    await cache.getOrSet('k', compute, { shouldCache: (r) => r.status === 200 });
    expect(calls).toBe(2);
  });

  it('caches a null result by default and not with cacheNull: false', async () => {
    const { cache } = setup();
    let calls = 0;
    const compute = () => {
      calls += 1;
      return null;
    };
    await cache.getOrSet('a', compute);
    expect(await cache.getOrSet('a', compute)).toBeNull();
    expect(calls).toBe(1);
    await cache.getOrSet('b', compute, { cacheNull: false });
    await cache.getOrSet('b', compute, { cacheNull: false });
    expect(calls).toBe(3);
  });

  it('caches "not found" for negativeTimeout only', async () => {
    const { cache, clock } = setup();
    let calls = 0;
    const find = () => {
      calls += 1;
      return undefined;
    };
    const opts = { timeout: 300, negativeTimeout: 5 };
    expect(await cache.getOrSet('post:999', find, opts)).toBeUndefined();
    expect(await cache.getOrSet('post:999', find, opts)).toBeUndefined();
    expect(calls).toBe(1);
    expect(await cache.get('post:999')).toBeUndefined();
    expect(await cache.has('post:999')).toBe(false);
    clock.advance(5_001);
    await cache.getOrSet('post:999', find, opts);
    expect(calls).toBe(2);
  });

  it('remembers whether the not-found result was null', async () => {
    const { cache } = setup();
    await cache.getOrSet('k', () => null, { negativeTimeout: 5 });
    expect(await cache.getOrSet('k', () => 'computed', { negativeTimeout: 5 })).toBeNull();
  });

  it('does not store an undefined result without negativeTimeout', async () => {
    const { cache } = setup();
    let calls = 0;
    const compute = (): undefined => void (calls += 1);
    await cache.getOrSet('k', compute);
    await cache.getOrSet('k', compute);
    expect(calls).toBe(2);
  });
});

describe('corrupt entries', () => {
  const garbage = {
    'not JSON': 'garbage',
    truncated: '{"k":1,"v":"abc',
    'a wrong format version': '{"k":2,"v":"abc"}',
    'an unknown tagged value': '{"k":1,"e":1,"v":{"$":"zz","d":1}}',
    'a malformed tag list': '{"k":1,"t":[1],"v":1}',
    'an envelope without a value': '{"k":1}',
  };

  for (const [what, raw] of Object.entries(garbage)) {
    it(`treats ${what} as a miss, deletes it and counts it`, async () => {
      const { cache, backend, events } = setup();
      await backend.set('k', raw, 0);
      expect(await cache.get('k')).toBeUndefined();
      expect(await backend.get('k')).toBeUndefined();
      const stats = await cache.stats();
      expect(stats.corrupt).toBe(1);
      expect(stats.origins.direct.errors).toBe(1);
      expect(events.map((e) => [e.op, e.result])).toEqual([['get', 'error']]);
      expect(events[0].error).toMatch(/corrupt/);
      expect(cache.health()).toBe('ok');
    });
  }

  it('recomputes over a corrupt entry in getOrSet and in getMany', async () => {
    const { cache, backend } = setup();
    await backend.set('a', '{"k":1,"v":', 0);
    await backend.set('b', '{"k":1,"v":"fine"}', 0);
    expect(await cache.getMany(['a', 'b'])).toEqual([undefined, 'fine']);
    await backend.set('a', 'garbage', 0);
    expect(await cache.getOrSet('a', () => 'fresh')).toBe('fresh');
    expect(await cache.get('a')).toBe('fresh');
  });
});

describe('fail-open', () => {
  it('turns every backend rejection into a miss or a no-op and reports it', async () => {
    const { backend, cache, events } = flaky();
    backend.failing = true;
    let calls = 0;
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.has('k')).toBe(false);
    expect(await cache.set('k', 1)).toBe(false);
    expect(await cache.add('k', 1)).toBe(false);
    expect(await cache.delete('k')).toBe(false);
    expect(await cache.getMany(['a', 'b'])).toEqual([undefined, undefined]);
    expect(await cache.setMany({ a: 1 })).toBe(false);
    expect(await cache.deleteMany(['a'])).toBe(0);
    expect(await cache.incr('n')).toBeUndefined();
    expect(await cache.clear()).toBe(false);
    expect(await cache.invalidateTags(['t'])).toBe(false);
    expect(await cache.set('k', 1, { tags: ['t'] })).toBe(false);
    expect(await cache.getOrSet('k', () => ++calls)).toBe(1);
    expect(await cache.getOrSet('k', () => ++calls)).toBe(2);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.result === 'error' && e.error === 'backend unavailable')).toBe(true);
    expect((await cache.stats()).backends.flaky.errors).toBe(events.length);
  });

  it('logs one warning for 100 failing calls and one info on recovery', async () => {
    const { backend, cache, logger } = flaky();
    await cache.set('k', 'v');
    backend.failing = true;
    await Promise.all(Array.from({ length: 100 }, () => cache.get('k')));
    expect(logger.warns).toHaveLength(1);
    expect(logger.warns[0]).toMatch(/flaky.*failing/);
    expect(cache.health()).toBe('degraded');
    backend.failing = false;
    expect(await cache.get('k')).toBe('v');
    expect(await cache.get('k')).toBe('v');
    expect(logger.infos).toEqual(['cache backend "flaky" recovered']);
    expect(cache.health()).toBe('ok');
    backend.failing = true;
    await cache.get('k');
    expect(logger.warns).toHaveLength(2);
  });

  it('re-raises backend errors with throwOnErrors, still reporting them', async () => {
    const backend = new FlakyBackend(new MemoryBackend());
    const cache = new Cache({ backend, throwOnErrors: true, logger: new MemoryLogger() });
    const events: CacheEvent[] = [];
    cache.events.on('op', (event: CacheEvent) => events.push(event));
    backend.failing = true;
    await expect(cache.get('k')).rejects.toThrow('backend unavailable');
    await expect(cache.set('k', 1)).rejects.toThrow('backend unavailable');
    await expect(cache.getOrSet('k', () => 1)).rejects.toThrow('backend unavailable');
    expect(events.map((e) => e.result)).toEqual(['error', 'error', 'error']);
  });

  it('derives incr from get and set on a backend without incr', async () => {
    const backend: CacheBackend = new FlakyBackend(new MemoryBackend());
    expect(backend.incr).toBeUndefined();
    const cache = new Cache({ backend, throwOnErrors: true, logger: new MemoryLogger() });
    expect(await cache.incr('n', 2)).toBe(2);
    expect(await cache.decr('n')).toBe(1);
    expect(await cache.get('n')).toBe(1);
    await cache.set('s', 'text');
    await expect(cache.incr('s')).rejects.toThrow(/not an integer/);
  });

  it('counts incr of a non-integer as an error without marking the backend failing', async () => {
    const { cache, logger, events } = setup();
    await cache.set('s', 'text');
    expect(await cache.incr('s')).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ op: 'incr', result: 'error' });
    expect(cache.health()).toBe('ok');
    expect(logger.warns).toEqual([]);
  });
});

describe('cache events and stats', () => {
  it('emits one event per operation with origin, detail, result and bytes', async () => {
    const { cache, events } = setup();
    await cache.set('k', 'value', { origin: 'view', detail: '/about' });
    await cache.get('k', { origin: 'view', detail: '/about' });
    await cache.get('missing');
    await cache.delete('k');
    await cache.delete('k');
    expect(events.map((e) => [e.op, e.result, e.origin])).toEqual([
      ['set', 'set', 'view'],
      ['get', 'hit', 'view'],
      ['get', 'miss', 'direct'],
      ['delete', 'delete', 'direct'],
      ['delete', 'miss', 'direct'],
    ]);
    expect(events[0]).toMatchObject({ key: 'k', backend: 'memory', detail: '/about', bytes: 19 });
    expect(events[1].bytes).toBe(19);
    expect(events.every((e) => e.durationMs >= 0)).toBe(true);
  });

  it('emits every getOrSet lookup and write with its origin', async () => {
    const { cache, events } = setup();
    await cache.getOrSet('k', () => 1, { origin: 'fragment', detail: 'sidebar.njk:3' });
    await cache.getOrSet('k', () => 1, { origin: 'fragment', detail: 'sidebar.njk:3' });
    expect(events.map((e) => `${e.op}:${e.result}:${e.origin}:${e.detail}`)).toEqual([
      'get:miss:fragment:sidebar.njk:3',
      'set:set:fragment:sidebar.njk:3',
      'get:hit:fragment:sidebar.njk:3',
    ]);
  });

  it('counts per origin and per backend, with the backend figures', async () => {
    const { cache } = setup();
    await cache.set('a', 'xx');
    await cache.get('a');
    await cache.get('a', { origin: 'view' });
    await cache.get('b', { origin: 'view' });
    await cache.delete('a');
    const stats = await cache.stats();
    expect(stats.origins.direct).toMatchObject({ hits: 1, misses: 0, sets: 1, deletes: 1, errors: 0 });
    expect(stats.origins.view).toMatchObject({ hits: 1, misses: 1, sets: 0 });
    expect(stats.backends.memory).toMatchObject({ hits: 2, misses: 1, sets: 1, deletes: 1 });
    expect(stats.backends.memory.bytes).toBe(3 * Buffer.byteLength('{"k":1,"v":"xx"}'));
    expect(stats.backend).toEqual({ entries: 0, bytes: 0 });
    expect(stats.health).toBe('ok');
  });

  it('reports add() of an existing key as a hit, not a set', async () => {
    const { cache, events } = setup();
    await cache.add('k', 1);
    await cache.add('k', 2);
    expect(events.map((e) => e.result)).toEqual(['set', 'hit']);
  });
});
