import { randomUUID } from 'node:crypto';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/cache.ts';
import { csrfFrom, login, startTestApp, type TestApp } from '../support/app.ts';
import { ControllableBackend } from '../support/controllable-backend.ts';
import { MemoryLogger } from '../support/memory-logger.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { requireRedisServerBinary } from '../support/services.ts';
import { waitUntil } from '../support/wait.ts';
import { cacheOf } from './stored.ts';

const canSpawn = await requireRedisServerBinary();

/** Lets a background replay (a few promise turns on the memory backend) finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function switchableCache() {
  const backend = new ControllableBackend({ name: 'switchable' });
  return { backend, cache: new Cache({ backend, logger: new MemoryLogger() }) };
}

describe('an invalidation that fails while the backend is down', () => {
  it('is replayed once the backend answers, and no read hits the old entry meanwhile', async () => {
    const { backend, cache } = switchableCache();
    await cache.set('page', 'old', { tags: ['post:1'] });
    backend.mode = 'fail';
    expect(await cache.invalidateTags(['post:1'])).toBe(false);
    expect(cache.health()).toBe('degraded');
    backend.mode = 'ok';
    // The backend is back with the old entry and the old tag version: still a miss.
    expect(await cache.get('page')).toBeUndefined();
    await settle();
    expect(await cache.get('page')).toBeUndefined();
    expect(cache.health()).toBe('ok');
    await cache.set('page', 'new', { tags: ['post:1'] });
    expect(await cache.get('page')).toBe('new');
  });

  it('replays failed deletes and clears the same way', async () => {
    const { backend, cache } = switchableCache();
    await cache.setMany({ a: 1, b: 2, c: 3 });
    backend.mode = 'fail';
    expect(await cache.delete('a')).toBe(false);
    expect(await cache.deleteMany(['b'])).toBe(0);
    backend.mode = 'ok';
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined]);
    await settle();
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, 3]);

    backend.mode = 'fail';
    expect(await cache.clear()).toBe(false);
    backend.mode = 'ok';
    expect(await cache.get('c')).toBeUndefined();
    await settle();
    expect(await cache.get('c')).toBeUndefined();
    expect(await cache.set('c', 4)).toBe(true);
    expect(await cache.get('c')).toBe(4);
  });

  it('keeps every read a miss while the replay itself keeps failing', async () => {
    const { backend, cache } = switchableCache();
    await cache.set('k', 'old', { tags: ['t'] });
    backend.mode = 'fail';
    await cache.invalidateTags(['t']);
    backend.mode = 'ok';
    backend.refuseWrites = true;
    for (let i = 0; i < 5; i++) {
      expect(await cache.get('k')).toBeUndefined();
      await settle();
    }
    expect(cache.health()).toBe('degraded');
    backend.refuseWrites = false;
    expect(await cache.get('k')).toBeUndefined();
    await settle();
    expect(cache.health()).toBe('ok');
    expect(await cache.get('k')).toBeUndefined();
  });
});

describe.skipIf(!canSpawn)('an author save acknowledged while Redis is frozen', () => {
  let redis: RedisServer;
  let t: TestApp;
  let author: supertest.Agent;
  let postId: number;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({
      env: { CACHE_TYPE: 'redis', CACHE_REDIS_URL: redis.url, CACHE_KEY_PREFIX: `kiln-rel-${randomUUID()}:` },
    });
    postId = (await t.addPost({ title: 'Before the freeze', category: 'news' })).id;
    author = t.request();
    await login(author);
  });
  afterAll(async () => {
    redis.thaw();
    await t?.close();
    await redis?.stop();
  });

  const read = (path: string) => t.request().get(path);

  it('is never followed by a stale page once Redis thaws with the old entries', async () => {
    const paths = [`/posts/${postId}`, '/', '/category/news', `/api/v1/posts/${postId}`];
    for (const path of paths) {
      await read(path).expect(200);
      expect((await read(path).expect(200)).headers['x-cache'], path).toBe('HIT');
    }

    redis.freeze();
    const form = await author.get(`/admin/posts/${postId}/edit`).expect(200);
    await author
      .post(`/admin/posts/${postId}`)
      .type('form')
      .send({ _csrf: csrfFrom(form.text), version: '1', title: 'After the freeze', body: 'Edited', category: 'news', published: 'on' })
      .expect(303);
    // While frozen, readers get fresh (uncached) pages.
    for (const path of paths) expect((await read(path).expect(200)).text, path).toContain('After the freeze');
    redis.thaw();

    // Redis still holds the old pages and tag versions; none may be served again.
    let hits = 0;
    const everyPageHits = async (): Promise<boolean> => {
      hits = 0;
      for (const path of paths) {
        const res = await read(path).expect(200);
        expect(res.text, path).not.toContain('Before the freeze');
        expect(res.text, path).toContain('After the freeze');
        if (res.headers['x-cache'] === 'HIT') hits += 1;
      }
      return hits === paths.length;
    };
    await waitUntil(everyPageHits, { timeoutMs: 15_000, what: 'every page cached again' });
    expect(hits, 'every page is cached again after the recovery').toBe(paths.length);
    expect(cacheOf(t).health()).toBe('ok');
  });
});
