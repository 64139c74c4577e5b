import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { SHARED_REDIS_URL, requireRedis } from '../support/services.ts';
import { closeApp, seedBlog } from './blog.ts';
import { recordFigures } from './scale.ts';

// An outsider can append any query to any page. The pages that read their query keep only the
// parameters they read in the page key, so junk parameters are answered from the page's one
// entry and add nothing to the store. Counted on the real Redis backend with SCAN.

const redisUp = await requireRedis();
const PREFIX = `kiln-test-junk-${randomUUID()}:`;
const JUNK_PER_ROUTE = 200;

let t: TestApp;
let redis: Redis;

/** Every key the app's cache holds in Redis now. */
async function storedKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** The page-record keys among them. */
function pageKeys(keys: readonly string[]): string[] {
  return keys.filter((key) => key.startsWith(`${PREFIX}view|`));
}

describe.skipIf(!redisUp)('junk query parameters on the Redis backend', () => {
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'redis', CACHE_REDIS_URL: SHARED_REDIS_URL, CACHE_KEY_PREFIX: PREFIX } });
    await seedBlog(t, 35);
    redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await closeApp(t);
    if (!redis) return;
    const keys = await storedKeys();
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('add no page key beyond those of the parameters the pages read, and are answered with the right page', async () => {
    // The pages and the parameters they read, each stored once.
    const clean = ['/', '/?page=2', '/category/news', '/category/news?page=2', '/api/v1/posts', '/api/v1/posts?page=2', '/api/v1/posts?category=koa'];
    const bodies = new Map<string, string>();
    for (const url of clean) {
      await t.request().get(url).expect(200);
      bodies.set(url, (await t.request().get(url).expect(200).expect('X-Cache', 'HIT')).text);
    }
    const before = await storedKeys();
    expect(pageKeys(before)).toHaveLength(clean.length);

    const junk = (i: number): [string, string][] => [
      [`/?utm_source=${i}`, '/'],
      [`/?page=2&junk${i}=${randomUUID()}`, '/?page=2'],
      [`/category/news?x=${i}&Page=${i}`, '/category/news'],
      [`/category/news?page=2&ref=${i}`, '/category/news?page=2'],
      [`/api/v1/posts?fields=${i}&page[]=${i}`, '/api/v1/posts'],
      [`/api/v1/posts?category=koa&cb=${i}`, '/api/v1/posts?category=koa'],
    ];
    let requests = 0;
    for (let i = 0; i < JUNK_PER_ROUTE; i += 1) {
      for (const [url, same] of junk(i)) {
        const res = await t.request().get(url);
        requests += 1;
        expect([url, res.status, res.headers['x-cache']]).toEqual([url, 200, 'HIT']);
        expect(res.text === bodies.get(same), `${url} is not the page of ${same}`).toBe(true);
      }
    }
    const after = await storedKeys();
    recordFigures('junk query parameters on Redis', { requests, keysBefore: before.length, keysAfter: after.length, pageKeys: pageKeys(after).length });
    expect(pageKeys(after).sort()).toEqual(pageKeys(before).sort());
    expect(after.length).toBe(before.length);
  }, 120_000);
});
