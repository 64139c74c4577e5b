import { afterEach, describe, expect, it } from 'vitest';
import { NearCacheBackend } from '../../src/cache/distributed/near-cache.ts';
import { createRedisStack } from '../../src/cache/distributed/redis/stack.ts';
import { withBreaker } from '../../src/cache/distributed/breaker.ts';
import { Cache } from '../../src/cache/cache.ts';
import { Coherence } from '../../src/cache/distributed/coherence/coherence.ts';
import { cacheConfigFromEnv, describeCacheConfig } from '../../src/cache/config/cache-config.ts';
import { createBackend } from '../../src/cache/config/create.ts';
import { SHARED_REDIS_URL, requireRedis } from '../support/services.ts';
import { backendContract } from './backend-contract.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { MemoryLogger } from '../support/memory-logger.ts';
import { CountingRemote, MemoryBus, type BusLink } from './near-helpers.ts';

const sharedUp = await requireRedis();

let clock = new FakeClock();
const opened: NearCacheBackend[] = [];

afterEach(async () => {
  for (const backend of opened.splice(0)) await backend.close();
  clock = new FakeClock();
});

/** A near layer over a counting remote, optionally coherent over a shared in-memory bus. */
function nearCache(options: { remote?: CountingRemote; bus?: MemoryBus; maxBytes?: number; maxTtl?: number } = {}) {
  const remote = options.remote ?? new CountingRemote(clock);
  let link: BusLink | undefined;
  let coherence: Coherence | undefined;
  if (options.bus) {
    link = options.bus.link();
    coherence = new Coherence({ link, scope: 'test:', pollMs: 0, logger: new MemoryLogger() });
  }
  const backend = new NearCacheBackend({ remote, clock, coherence, maxBytes: options.maxBytes, maxTtl: options.maxTtl });
  opened.push(backend);
  return { backend, remote, link, coherence };
}

describe('nearCacheBackend.get()', () => {
  it('serves repeated reads from the near copy without calling the remote', async () => {
    const { backend, remote } = nearCache();
    await remote.set('k', 'v', 0);
    expect(await backend.get('k')).toBe('v');
    const reads = remote.reads;
    expect(await backend.get('k')).toBe('v');
    expect(await backend.getMany(['k', 'k'])).toEqual(['v', 'v']);
    expect(await backend.has('k')).toBe(true);
    expect(remote.reads).toBe(reads);
  });

  it('fetches only the keys it has no copy of, in one remote call', async () => {
    const { backend, remote } = nearCache();
    await remote.setMany([['a', '1'], ['b', '2'], ['c', '3']], 0);
    await backend.get('a');
    const before = remote.calls.getManyWithTtl;
    expect(await backend.getMany(['a', 'b', 'missing', 'c'])).toEqual(['1', '2', undefined, '3']);
    expect(remote.calls.getManyWithTtl).toBe(before + 1);
    const reads = remote.reads;
    expect(await backend.getMany(['b', 'c'])).toEqual(['2', '3']);
    expect(remote.reads).toBe(reads);
  });

  it('keeps a copy no longer than the remote entry has left', async () => {
    const { backend, remote } = nearCache({ maxTtl: 60 });
    await remote.set('k', 'v', 5);
    clock.advance(1_000);
    expect(await backend.get('k')).toBe('v');
    clock.advance(3_999);
    expect(await backend.get('k')).toBe('v');
    clock.advance(2);
    expect(await backend.get('k')).toBeUndefined();
    expect(backend.nearStats().entries).toBe(0);
  });

  it('keeps a copy of an entry without expiry for at most maxTtl, then reads the remote again', async () => {
    const { backend, remote } = nearCache({ maxTtl: 10 });
    await remote.set('k', 'v', 0);
    await backend.get('k');
    clock.advance(9_999);
    const reads = remote.reads;
    await backend.get('k');
    expect(remote.reads).toBe(reads);
    clock.advance(2);
    expect(await backend.get('k')).toBe('v');
    expect(remote.reads).toBe(reads + 1);
  });

  it('keeps nothing from a read that a write overtook (it may carry the old value)', async () => {
    const { backend, remote } = nearCache();
    await remote.set('k', 'old', 0);
    const open = remote.hold();
    const racing = backend.get('k');
    await backend.set('k', 'new', 0);
    open();
    expect(await racing).toBe('old');
    expect(await backend.get('k')).toBe('new');
  });

  it("keeps nothing from a read that another process's invalidation overtook", async () => {
    const bus = new MemoryBus();
    const remote = new CountingRemote(clock);
    const a = nearCache({ remote, bus });
    const b = nearCache({ remote, bus });
    await Promise.all([a.backend.whenLive(), b.backend.whenLive()]);
    await remote.set('k', 'old', 0);
    const open = remote.hold();
    const racing = b.backend.get('k');
    await remote.set('k', 'new', 0);
    await a.coherence?.publishInvalidation(['k']);
    open();
    expect(await racing).toBe('old');
    expect(await b.backend.get('k')).toBe('new');
  });

  it('stays within maxBytes, dropping the least recently used copies', async () => {
    const { backend, remote } = nearCache({ maxBytes: 10_000 });
    for (let i = 0; i < 50; i++) await remote.set(`k${i}`, 'x'.repeat(500), 0);
    for (let i = 0; i < 50; i++) await backend.get(`k${i}`);
    expect(backend.nearStats().bytes).toBeLessThanOrEqual(10_000);
    const reads = remote.reads;
    await backend.get('k49');
    expect(remote.reads).toBe(reads);
    await backend.get('k0');
    expect(remote.reads).toBe(reads + 1);
  });
});

describe('NearCacheBackend writes', () => {
  it('drop the near copy, so the next read fetches the new value', async () => {
    const { backend, remote } = nearCache();
    await backend.set('k', 'one', 0);
    expect(await backend.get('k')).toBe('one');
    await backend.set('k', 'two', 0);
    expect(await backend.get('k')).toBe('two');
    await backend.setMany([['k', 'three']], 0);
    expect(await backend.get('k')).toBe('three');
    expect(await backend.delete('k')).toBe(true);
    expect(await backend.get('k')).toBeUndefined();
    expect(await backend.add('k', 'four', 0)).toBe(true);
    expect(await backend.get('k')).toBe('four');
    expect(await backend.incr?.('n', 2)).toBe(2);
    expect(await backend.get('n')).toBe('2');
    expect(await backend.incr?.('n', 3)).toBe(5);
    expect(await backend.get('n')).toBe('5');
    expect(remote.calls.incr).toBe(2);
  });

  it('drop the near copy and reject when the remote fails', async () => {
    const { backend, remote } = nearCache();
    await backend.set('k', 'v', 0);
    await backend.get('k');
    remote.failing = true;
    await expect(backend.set('k', 'w', 0)).rejects.toThrow('remote down');
    expect(await backend.get('k').catch(() => 'remote asked')).toBe('remote asked');
  });

  it('clear() empties the near layer and the remote', async () => {
    const { backend, remote } = nearCache();
    await backend.set('a', '1', 0);
    await backend.get('a');
    await backend.clear();
    expect(backend.nearStats().entries).toBe(0);
    expect(await remote.get('a')).toBeUndefined();
  });
});

describe('NearCacheBackend while coherence is not live', () => {
  it('bypasses and empties the near layer, then keeps copies again once the subscription is back', async () => {
    const bus = new MemoryBus();
    const { backend, remote, link } = nearCache({ bus });
    await backend.whenLive();
    await remote.set('k', 'v', 0);
    await backend.get('k');
    expect(backend.nearStats().entries).toBe(1);
    link?.down();
    expect(backend.nearLive).toBe(false);
    expect(backend.nearStats().entries).toBe(0);
    const reads = remote.reads;
    await backend.get('k');
    await backend.get('k');
    expect(remote.reads).toBe(reads + 2);
    expect(backend.nearStats().entries).toBe(0);
    link?.up();
    await backend.whenLive();
    await backend.get('k');
    await backend.get('k');
    expect(remote.reads).toBe(reads + 3);
  });
});

describe('NearCacheBackend through the cache facade', () => {
  it('serves a tagged hit, tag versions included, without calling the remote', async () => {
    const { backend, remote } = nearCache();
    const cache = new Cache({ backend, clock, throwOnErrors: true });
    await cache.set('page', { html: '<p>hi</p>' }, { tags: ['posts', 'sidebar'] });
    expect(await cache.get('page')).toEqual({ html: '<p>hi</p>' });
    const reads = remote.reads;
    for (let i = 0; i < 10; i++) expect(await cache.get('page')).toEqual({ html: '<p>hi</p>' });
    expect(remote.reads).toBe(reads);
  });

  it("makes a tagged entry a miss on the next read after another process's invalidateTags()", async () => {
    const bus = new MemoryBus();
    const remote = new CountingRemote(clock);
    const a = new Cache({ backend: nearCache({ remote, bus }).backend, clock, throwOnErrors: true });
    const bNode = nearCache({ remote, bus });
    const b = new Cache({ backend: bNode.backend, clock, throwOnErrors: true });
    await bNode.backend.whenLive();
    await b.set('page', 'v1', { tags: ['posts'] });
    expect(await b.get('page')).toBe('v1');
    expect(await b.get('page')).toBe('v1');
    await a.invalidateTags(['posts']);
    expect(await b.get('page')).toBeUndefined();
  });
});

describe('nearCacheBackend.peekMany()', () => {
  it('answers from near copies only, and not after an invalidation anywhere or a write here', async () => {
    const bus = new MemoryBus();
    const remote = new CountingRemote(clock);
    const here = nearCache({ remote, bus }).backend;
    const there = nearCache({ remote, bus }).backend;
    await here.whenLive();
    await there.whenLive();
    await remote.set('k', 'v1', 0);
    expect(here.peekMany(['k'])).toBeUndefined(); // no copy yet: only the remote knows
    await here.get('k');
    expect(here.peekMany(['k'])?.map((e) => e.value)).toEqual(['v1']);
    expect(here.peekMany(['k', 'other'])).toBeUndefined();
    // An invalidation resolves once every process dropped its copy (an overwrite is announced
    // in the background, so it reaches the other near layers a moment later, for get and peek alike).
    await there.delete('k');
    expect(here.peekMany(['k'])).toBeUndefined();
    await there.set('k', 'v2', 0);
    await here.get('k');
    expect(here.peekMany(['k'])?.map((e) => e.value)).toEqual(['v2']);
    await here.set('k', 'v3', 0);
    expect(here.peekMany(['k'])).toBeUndefined();
  });

  it('does not answer while coherence is not live', async () => {
    const bus = new MemoryBus();
    const { backend, remote, link } = nearCache({ bus });
    await backend.whenLive();
    await remote.set('k', 'v', 0);
    await backend.get('k');
    expect(backend.peekMany(['k'])?.map((e) => e.value)).toEqual(['v']);
    link?.down();
    expect(backend.peekMany(['k'])).toBeUndefined();
  });
});

describe('NearCacheBackend capabilities', () => {
  it("exposes the remote's lock, counter and circuit-breaker state, under the remote's name", async () => {
    const remote = new CountingRemote(clock);
    const guarded = withBreaker(remote);
    const backend = new NearCacheBackend({ remote: guarded, clock });
    expect(backend.name).toBe('remote');
    expect(backend.breakerState).toBe('closed');
    expect(backend.incr).toBeTypeOf('function');
    expect(backend.lock).toBeUndefined();
    const locking = new NearCacheBackend({ remote: Object.assign(new CountingRemote(clock), { lock: async () => undefined }), clock });
    expect(locking.lock).toBeTypeOf('function');
    expect(locking.breakerState).toBeUndefined();
  });

  it('refuses a maxTtl that is not positive', () => {
    expect(() => new NearCacheBackend({ remote: new CountingRemote(clock), maxTtl: 0 })).toThrow(/maxTtl/);
  });
});

describe('CACHE_NEAR_MAX_BYTES and CACHE_NEAR_TTL', () => {
  const test = { nodeEnv: 'test' };

  it('put a 16 MiB near cache whose copies live at most 10 s in front of Redis by default', async () => {
    const config = cacheConfigFromEnv({ CACHE_TYPE: 'redis', CACHE_KEY_PREFIX: 'kiln-test:near-config:' }, test);
    expect(config).toMatchObject({ nearMaxBytes: 16 * 1024 * 1024, nearTtl: 10 });
    expect(describeCacheConfig(config)).toContain('near cache 16777216 bytes');
    const backend = await createBackend(config, { logger: new MemoryLogger() });
    try {
      expect(backend).toBeInstanceOf(NearCacheBackend);
      expect(backend.name).toBe('redis');
      expect(backend.lock).toBeTypeOf('function');
      expect('breakerState' in backend).toBe(true);
    } finally {
      await backend.close?.();
    }
  });

  it('take sizes and seconds, and 0 bytes turns the near cache off (the lock stays)', async () => {
    const config = cacheConfigFromEnv({ CACHE_TYPE: 'redis', CACHE_NEAR_MAX_BYTES: '0', CACHE_NEAR_TTL: '30' }, test);
    expect(config).toMatchObject({ nearMaxBytes: 0, nearTtl: 30 });
    expect(describeCacheConfig(config)).toContain('no near cache');
    expect(cacheConfigFromEnv({ CACHE_NEAR_MAX_BYTES: '4MB' }, test).nearMaxBytes).toBe(4 * 1024 * 1024);
    const backend = await createBackend(config, { logger: new MemoryLogger() });
    try {
      expect(backend).not.toBeInstanceOf(NearCacheBackend);
      expect(backend.lock).toBeTypeOf('function');
    } finally {
      await backend.close?.();
    }
  });

  it('refuse bad values at start, naming the variable', () => {
    expect(() => cacheConfigFromEnv({ CACHE_NEAR_MAX_BYTES: 'lots' }, test)).toThrow(/^CACHE_NEAR_MAX_BYTES: /);
    expect(() => cacheConfigFromEnv({ CACHE_NEAR_MAX_BYTES: '-1' }, test)).toThrow(/^CACHE_NEAR_MAX_BYTES: /);
    expect(() => cacheConfigFromEnv({ CACHE_NEAR_TTL: '0' }, test)).toThrow(/^CACHE_NEAR_TTL: /);
    expect(() => cacheConfigFromEnv({ CACHE_NEAR_TTL: '1.5' }, test)).toThrow(/^CACHE_NEAR_TTL: /);
  });
});

backendContract('near cache over a memory remote', async ({ clock: contractClock }) => {
  const backend = new NearCacheBackend({ remote: new CountingRemote(contractClock), clock: contractClock });
  return backend;
});

describe.skipIf(!sharedUp)('NearCacheBackend on the shared Redis', () => {
  backendContract(
    'near cache over redis (with coherence)',
    async ({ prefix }) => {
      const backend = createRedisStack({
        url: SHARED_REDIS_URL,
        prefix,
        commandTimeoutMs: 5000,
        nearMaxBytes: 16 * 1024 * 1024,
        nearTtl: 10,
        logger: new MemoryLogger(),
      });
      if (backend instanceof NearCacheBackend) await backend.whenLive();
      return backend;
    },
    undefined,
    { fakeClock: false },
  );
});
