import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NearCacheBackend } from '../../src/cache/distributed/near-cache.ts';
import { createRedisStack } from '../../src/cache/distributed/redis/stack.ts';
import { RedisBackend } from '../../src/cache/distributed/redis/backend.ts';
import { Cache } from '../../src/cache/cache.ts';
import { cacheConfigFromEnv, describeCacheConfig } from '../../src/cache/config/cache-config.ts';
import { coherenceChannels } from '../../src/cache/keys.ts';
import { measureInvalidationLag, startKilnFleet } from '../support/kiln-fleet.ts';
import { startRedisSentinel, type RedisSentinelSetup } from '../support/redis-topologies.ts';
import { requireRedisServerBinary } from '../support/services.ts';
import { waitUntil } from '../support/wait.ts';
import { backendContract } from './backend-contract.ts';
import { coherenceSuite } from './coherence-suite.ts';
import { uniquePrefix } from './helpers.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

const canSpawn = await requireRedisServerBinary();
const FULL = process.env.KILN_FULL === '1';

describe('CACHE_REDIS_SENTINELS and CACHE_REDIS_SENTINEL_MASTER', () => {
  const test = { nodeEnv: 'test' };

  it('take the sentinels and the master name together', () => {
    const config = cacheConfigFromEnv({ CACHE_TYPE: 'redis', CACHE_REDIS_SENTINELS: 's1:26379,s2:26380', CACHE_REDIS_SENTINEL_MASTER: 'mymaster' }, test);
    expect(config.redis).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], sentinelMaster: 'mymaster' });
    expect(describeCacheConfig(config)).toContain('master "mymaster" of the sentinels s1:26379,s2:26380');
  });

  it('refuse one without the other, or a malformed list, naming the variable', () => {
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_SENTINELS: 's1:26379' }, test)).toThrow(/^CACHE_REDIS_SENTINEL_MASTER: /);
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_SENTINEL_MASTER: 'mymaster' }, test)).toThrow(/^CACHE_REDIS_SENTINELS: /);
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_SENTINELS: 's1', CACHE_REDIS_SENTINEL_MASTER: 'm' }, test)).toThrow(/^CACHE_REDIS_SENTINELS: /);
  });

  it('refuses sentinels without a master name in the backend too', () => {
    expect(() => new RedisBackend({ prefix: 'p:', sentinels: [{ host: '127.0.0.1', port: 26379 }] })).toThrow(/sentinelMaster/);
  });
});

describe.skipIf(!canSpawn)('Redis Sentinel (a master, a replica and a sentinel started by the test)', () => {
  let setup: RedisSentinelSetup;

  beforeAll(async () => {
    setup = await startRedisSentinel();
  }, 60_000);

  afterAll(async () => {
    await setup?.stop();
  }, 60_000);

  function connection(prefix: string) {
    return { sentinels: [setup.sentinel], sentinelMaster: setup.masterName, prefix, commandTimeoutMs: 5000 };
  }

  function stack(prefix: string) {
    return createRedisStack({ ...connection(prefix), nearMaxBytes: 1 << 24, nearTtl: 10, logger: new MemoryLogger() });
  }

  backendContract('redis sentinel', async ({ prefix }) => new RedisBackend(connection(prefix)), undefined, { fakeClock: false });

  describe('with the near cache', () => {
    backendContract('near cache over redis sentinel', async ({ prefix }) => stack(prefix), undefined, { fakeClock: false });
    coherenceSuite('redis sentinel', (prefix) => stack(prefix));
  });

  it(`shows edits through one Kiln process to another on its next request (${FULL ? 100 : 10} edits)`, async () => {
    const fleet = await startKilnFleet(2, {
      CACHE_TYPE: 'redis',
      CACHE_REDIS_SENTINELS: setup.env,
      CACHE_REDIS_SENTINEL_MASTER: setup.masterName,
      CACHE_KEY_PREFIX: uniquePrefix('sentinel-fleet'),
    });
    try {
      const [a, b] = fleet.nodes;
      const report = await measureInvalidationLag(a.url, [b.url], FULL ? 100 : 10);
      console.log(`[scale-out] sentinel: worst lag ${report.worstLagMs} ms over ${report.edits} edits, stale reads ${report.stale}`);
      expect(report.stale).toBe(0);
      expect(report.uncachedStatuses).toEqual([]);
    } finally {
      await fleet.stop();
    }
  }, 90_000);

  describe('after a failover', () => {
    const caches: Cache[] = [];
    afterEach(async () => {
      for (const cache of caches.splice(0)) await cache.close();
    });

    // Last: it swaps the master and the replica for good.
    it('follows the new master and stays coherent across processes', async () => {
      const prefix = uniquePrefix('sentinel-failover');
      const nodes = [stack(prefix), stack(prefix)];
      for (const node of nodes) {
        if (!(node instanceof NearCacheBackend)) throw new Error('expected a near cache');
        await node.whenLive();
        caches.push(new Cache({ backend: node, logger: new MemoryLogger() }));
      }
      const [a, b] = caches;
      await a.set('k', 'before', { tags: ['post:1'] });
      expect(await b.get('k')).toBe('before');
      const oldMaster = await setup.masterPort();

      await setup.failover();
      expect(await setup.masterPort()).not.toBe(oldMaster);

      // Writes fail fast (misses, no errors thrown) until the clients reach the new master.
      await waitUntil(() => a.set('k', 'after', { tags: ['post:1'] }), { timeoutMs: 20_000, what: 'a write to the new master' });
      // Each subscription follows the switch on its own, and the old master (still a master until
      // Sentinel reconfigures it) may hold one for a while: announcements on the new master do not
      // reach it then, and the sequence check is what drops its copies (coherence.ts). Coherence
      // as asserted below holds once both subscriptions are on the new master.
      const bus = coherenceChannels(prefix, '').bus;
      await waitUntil(async () => (await setup.subscribersOnMaster(bus)) === nodes.length, { timeoutMs: 20_000, what: 'both subscriptions on the new master' });
      for (const node of nodes) if (node instanceof NearCacheBackend) await node.whenLive();
      await a.set('k', 'after', { tags: ['post:1'] });
      expect(await b.get('k')).toBe('after');
      expect(await b.get('k')).toBe('after');
      await a.invalidateTags(['post:1']);
      expect(await b.get('k')).toBeUndefined();
    }, 60_000);
  });
});
