import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStack } from '../../src/cache/distributed/redis/stack.ts';
import { keySlot } from '../../src/cache/distributed/redis/topology.ts';
import { RedisBackend } from '../../src/cache/distributed/redis/backend.ts';
import { cacheConfigFromEnv, describeCacheConfig } from '../../src/cache/config/cache-config.ts';
import { measureInvalidationLag, startKilnFleet } from '../support/kiln-fleet.ts';
import { startRedisCluster, type RedisClusterSetup } from '../support/redis-topologies.ts';
import { requireBinary, requireRedisServerBinary } from '../support/services.ts';
import { backendContract } from './backend-contract.ts';
import { coherenceSuite } from './coherence-suite.ts';
import { uniquePrefix } from './helpers.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

const canSpawn = (await requireRedisServerBinary()) && (await requireBinary('redis-cli', 'install redis-tools'));
const FULL = process.env.KILN_FULL === '1';

describe('keySlot()', () => {
  it('matches the slots Redis Cluster documents, hash tags included', () => {
    expect(keySlot('123456789')).toBe(12739); // CRC16/XMODEM check value 0x31C3
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{}{bar}')).toBe(8363); // CLUSTER KEYSLOT foo{}{bar} (Redis 7.0): an empty tag hashes the whole key
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });
});

describe('CACHE_REDIS_CLUSTER', () => {
  const test = { nodeEnv: 'test' };

  it('takes a comma-separated list of seed nodes', () => {
    const config = cacheConfigFromEnv({ CACHE_TYPE: 'redis', CACHE_REDIS_CLUSTER: '127.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }, test);
    expect(config.redis.cluster).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(describeCacheConfig(config)).toContain('on the cluster 127.0.0.1:7000,10.0.0.2:7001,::1:7002');
  });

  it('refuses a malformed list or a conflicting setting at start, naming the variable', () => {
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_CLUSTER: 'redis-1' }, test)).toThrow(/^CACHE_REDIS_CLUSTER: .*"redis-1"/);
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_CLUSTER: 'a:7000,b:99999' }, test)).toThrow(/^CACHE_REDIS_CLUSTER: /);
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_CLUSTER: 'a:7000', CACHE_REDIS_URL: 'redis://a:7000' }, test)).toThrow(/^CACHE_REDIS_CLUSTER: .*CACHE_REDIS_URL/);
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_CLUSTER: 'a:7000', CACHE_REDIS_SENTINELS: 'b:26379', CACHE_REDIS_SENTINEL_MASTER: 'm' }, test)).toThrow(
      /^CACHE_REDIS_CLUSTER: /,
    );
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_CLUSTER: 'a:7000', CACHE_REDIS_DB: '2' }, test)).toThrow(/^CACHE_REDIS_DB: /);
  });
});

describe.skipIf(!canSpawn)('Redis Cluster of three masters started by the test', () => {
  let cluster: RedisClusterSetup;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  backendContract(
    'redis cluster',
    async ({ prefix }) => new RedisBackend({ cluster: cluster.nodes, prefix, commandTimeoutMs: 5000 }),
    undefined,
    { fakeClock: false },
  );

  describe('multi-key operations on the cluster', () => {
    const made: RedisBackend[] = [];
    afterEach(async () => {
      for (const backend of made.splice(0)) await backend.close();
    });

    it('spread over every master, work per hash slot, and clear() empties every master', async () => {
      const prefix = uniquePrefix('cluster-multi');
      const backend = new RedisBackend({ cluster: cluster.nodes, prefix, commandTimeoutMs: 5000 });
      made.push(backend);
      const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
      expect(new Set(keys.map((key) => keySlot(prefix + key))).size).toBeGreaterThan(50);
      await backend.setMany(keys.map((key, i) => [key, String(i)] as const), 0);
      expect(await backend.getMany(keys)).toEqual(keys.map((_, i) => String(i)));
      expect(await backend.deleteMany(keys.slice(0, 10))).toBe(10);
      expect(await backend.getMany(keys.slice(0, 12))).toEqual([...Array<undefined>(10).fill(undefined), '10', '11']);

      const counts = await Promise.all(cluster.servers.map((server) => countUnder(server.url, prefix)));
      expect(counts.every((count) => count > 0)).toBe(true);
      await backend.clear();
      expect(await Promise.all(cluster.servers.map((server) => countUnder(server.url, prefix)))).toEqual([0, 0, 0]);
    });
  });

  describe('with the near cache', () => {
    backendContract(
      'near cache over redis cluster',
      async ({ prefix }) => stack(prefix),
      undefined,
      { fakeClock: false },
    );
    coherenceSuite('redis cluster', (prefix) => stack(prefix));
  });

  it(`shows edits through one Kiln process to another on its next request (${FULL ? 100 : 10} edits)`, async () => {
    const fleet = await startKilnFleet(2, { CACHE_TYPE: 'redis', CACHE_REDIS_CLUSTER: cluster.env, CACHE_KEY_PREFIX: uniquePrefix('cluster-fleet') });
    try {
      const [a, b] = fleet.nodes;
      const report = await measureInvalidationLag(a.url, [b.url], FULL ? 100 : 10);
      console.log(`[scale-out] cluster: worst lag ${report.worstLagMs} ms over ${report.edits} edits, stale reads ${report.stale}`);
      expect(report.stale).toBe(0);
      expect(report.uncachedStatuses).toEqual([]);
    } finally {
      await fleet.stop();
    }
  }, 90_000);

  function stack(prefix: string) {
    return createRedisStack({ cluster: cluster.nodes, prefix, commandTimeoutMs: 5000, nearMaxBytes: 1 << 24, nearTtl: 10, logger: new MemoryLogger() });
  }
});

/** How many keys under `prefix` one node holds (SCAN on that node alone). */
async function countUnder(url: string, prefix: string): Promise<number> {
  const client = new Redis(url);
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      count += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return count;
  } finally {
    client.disconnect();
  }
}
