import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLoginAttempts } from '../../../src/blog/services/redis-login-attempts.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { SHARED_REDIS_URL, requireRedis } from '../../support/services.ts';
import { loginAttemptContract } from './login-attempt-contract.ts';

const redisUp = await requireRedis();

/** A key prefix no other test (or run) uses on the shared Redis. */
function uniquePrefix(): string {
  return `kiln-test:attempts:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (the shared Redis is never flushed). */
async function removeKeys(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
}

describe.skipIf(!redisUp)('RedisLoginAttempts on the shared Redis', () => {
  let direct: Redis;
  beforeAll(() => {
    direct = new Redis(SHARED_REDIS_URL);
  });
  afterAll(async () => {
    await direct.quit();
  });

  // Two clients on one Redis stand for two Kiln processes.
  loginAttemptContract('redis', async () => {
    const prefix = uniquePrefix();
    const clock = new FakeClock();
    const store = new RedisLoginAttempts({ url: SHARED_REDIS_URL, prefix, clock });
    const peer = new RedisLoginAttempts({ url: SHARED_REDIS_URL, prefix, clock });
    return {
      store,
      peer,
      clock,
      close: async () => {
        await Promise.all([store.close(), peer.close()]);
        await removeKeys(direct, prefix);
      },
    };
  });

  it('keeps one key per client under the prefix, which Redis expires when its window ends', async () => {
    const prefix = uniquePrefix();
    const store = new RedisLoginAttempts({ url: SHARED_REDIS_URL, prefix });
    try {
      await store.hit('203.0.113.7', 60_000);
      await store.hit('203.0.113.7', 60_000);
      expect(await direct.keys(`${prefix}*`)).toEqual([`${prefix}203.0.113.7`]);
      const ttl = await direct.pttl(`${prefix}203.0.113.7`);
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await store.reset('203.0.113.7');
      expect(await direct.exists(`${prefix}203.0.113.7`)).toBe(0);
    } finally {
      await store.close();
      await removeKeys(direct, prefix);
    }
  });
});

describe('RedisLoginAttempts without a reachable Redis', () => {
  it('rejects hit() (a login is refused, never evaluated uncounted) and warns once', async () => {
    const logger = new MemoryLogger();
    // Port 1 on loopback: nothing listens there, so every connection is refused at once.
    const store = new RedisLoginAttempts({ url: 'redis://127.0.0.1:1', prefix: 'kiln-test:attempts:', logger, commandTimeoutMs: 500 });
    try {
      await expect(store.hit('203.0.113.7', 60_000)).rejects.toThrow();
      await expect(store.hit('203.0.113.7', 60_000)).rejects.toThrow();
      expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
      expect(logger.lines[0].msg).toMatch(/^login attempts: redis unavailable/);
    } finally {
      await store.close();
    }
  });
});
