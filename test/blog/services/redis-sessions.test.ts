import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../../src/blog/services/redis-sessions.ts';
import { loginRaw, startTestApp, type TestApp } from '../../support/app.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { SHARED_REDIS_URL, requireRedis } from '../../support/services.ts';
import { sessionStoreContract } from './session-store-contract.ts';

const redisUp = await requireRedis();

/** A key prefix no other test (or run) uses on the shared Redis. */
function uniquePrefix(): string {
  return `kiln-test:sess:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (the shared Redis is never flushed). */
async function removeKeys(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
}

describe.skipIf(!redisUp)('RedisSessionStore on the shared Redis', () => {
  let direct: Redis;
  beforeAll(() => {
    direct = new Redis(SHARED_REDIS_URL);
  });
  afterAll(async () => {
    await direct.quit();
  });

  // Two clients on one Redis stand for two Kiln processes.
  sessionStoreContract('redis', async () => {
    const prefix = uniquePrefix();
    const clock = new FakeClock();
    const store = new RedisSessionStore({ url: SHARED_REDIS_URL, prefix, clock });
    const peer = new RedisSessionStore({ url: SHARED_REDIS_URL, prefix, clock });
    return {
      store,
      peer,
      advance: (ms) => clock.advance(ms),
      close: async () => {
        await Promise.all([store.close(), peer.close()]);
        await removeKeys(direct, prefix);
      },
    };
  });

  it('set() stores under the prefix with a Redis TTL of maxAge, so abandoned sessions disappear', async () => {
    const prefix = uniquePrefix();
    const store = new RedisSessionStore({ url: SHARED_REDIS_URL, prefix });
    try {
      await store.set('session-id-0000001', { authorId: 1 }, 60_000);
      expect(await direct.keys(`${prefix}*`)).toEqual([`${prefix}session-id-0000001`]);
      const ttl = await direct.pttl(`${prefix}session-id-0000001`);
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await store.destroy('session-id-0000001');
      expect(await direct.exists(`${prefix}session-id-0000001`)).toBe(0);
    } finally {
      await store.close();
      await removeKeys(direct, prefix);
    }
  });

  it('get() treats an unreadable value as no session and removes it', async () => {
    const prefix = uniquePrefix();
    const store = new RedisSessionStore({ url: SHARED_REDIS_URL, prefix });
    try {
      await direct.set(`${prefix}session-id-0000001`, 'not json{', 'PX', 60_000);
      await direct.set(`${prefix}session-id-0000002`, JSON.stringify({ expiresAt: Date.now() + 60_000, data: 'text' }), 'PX', 60_000);
      expect(await store.get('session-id-0000001')).toBeUndefined();
      expect(await store.get('session-id-0000002')).toBeUndefined();
      expect(await direct.exists(`${prefix}session-id-0000002`)).toBe(0);
    } finally {
      await store.close();
      await removeKeys(direct, prefix);
    }
  });
});

describe('RedisSessionStore without a reachable Redis', () => {
  it('get() answers "no session" with one warning; set() and destroy() reject', async () => {
    const logger = new MemoryLogger();
    // Port 1 on loopback: nothing listens there, so every connection is refused at once.
    const store = new RedisSessionStore({ url: 'redis://127.0.0.1:1', prefix: 'kiln-test:sess:', logger, commandTimeoutMs: 500 });
    try {
      expect(await store.get('session-id-0000001')).toBeUndefined();
      expect(await store.get('session-id-0000001')).toBeUndefined();
      await expect(store.set('session-id-0000001', { authorId: 1 }, 1000)).rejects.toThrow();
      await expect(store.destroy('session-id-0000001')).rejects.toThrow();
      expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
      expect(logger.lines[0].msg).toMatch(/^sessions: redis unavailable/);
    } finally {
      await store.close();
    }
  });
});

describe.skipIf(!redisUp)('SESSION_STORE=redis through the app', () => {
  let t: TestApp;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    t = await startTestApp({ env: { SESSION_STORE: 'redis', SESSION_REDIS_URL: SHARED_REDIS_URL, SESSION_REDIS_PREFIX: prefix } });
  });
  afterAll(async () => {
    await t.close();
    const direct = new Redis(SHARED_REDIS_URL);
    await removeKeys(direct, prefix);
    await direct.quit();
  });

  it('keeps the signed-in author in Redis, not the database, and logout revokes a copied cookie', async () => {
    const { cookie, csrf } = await loginRaw(t);
    const direct = new Redis(SHARED_REDIS_URL);
    try {
      expect(await direct.keys(`${prefix}*`)).toHaveLength(1);
      expect(await t.dataSource.query('SELECT id FROM session')).toEqual([]);
      await supertest(t.server).get('/admin').set('Cookie', cookie).expect(200);
      await supertest(t.server).post('/logout').set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303);
      expect(await direct.keys(`${prefix}*`)).toEqual([]);
      await supertest(t.server).get('/admin').set('Cookie', cookie).expect(303).expect('Location', '/login?next=/admin');
    } finally {
      await direct.quit();
    }
  });

  it('refuses a cookie whose session was deleted from Redis by another process', async () => {
    const { cookie } = await loginRaw(t);
    const direct = new Redis(SHARED_REDIS_URL);
    try {
      await removeKeys(direct, prefix);
      const res = await supertest(t.server).get('/admin').set('Cookie', cookie).expect(303);
      expect(res.headers.location).toBe('/login?next=/admin');
      expect(await direct.keys(`${prefix}*`)).toEqual([]);
    } finally {
      await direct.quit();
    }
  });
});
