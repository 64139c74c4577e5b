import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_URL, startTestApp, type TestApp } from '../support/app.ts';
import { closeApp, seedBlog, type SeededBlog } from './blog.ts';
import { pathVariants } from './path-variants.ts';
import { eachLimited, rawHeader, rawTarget } from './raw-http.ts';
import { recordFigures } from './scale.ts';
import { cacheOf, recordWrites } from './stored.ts';

function port(t: TestApp): number {
  const address = t.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('reader pages under other spellings of their paths', () => {
  let t: TestApp;
  let blog: SeededBlog;
  let pages: string[];

  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(48), CACHE_TYPE: 'memory' } });
    blog = await seedBlog(t, 4);
    pages = ['/', `/posts/${blog.ids[1]}`, '/category/news', '/about', '/feed.xml', '/api/v1/posts', `/api/v1/posts/${blog.ids[1]}`];
  });
  afterAll(() => closeApp(t));

  it('serves every reader page at its canonical path, the second time as an early answer', async () => {
    for (const page of pages) {
      const first = await rawTarget(port(t), page);
      expect(first.status, page).toBe(200);
      expect(first.text, page).toContain(blog.expect[page] ?? 'is a small blog');
      const second = await rawTarget(port(t), page);
      expect(rawHeader(second, 'X-Cache'), page).toBe('HIT');
    }
    for (const other of ['/login', '/healthz', '/static/css/site.css']) expect((await rawTarget(port(t), other)).status, other).toBe(200);
  });

  it('answers every other spelling 404, from neither early answers nor the page cache, and stores nothing', async () => {
    for (const page of pages) expect((await rawTarget(port(t), page)).status, page).toBe(200);
    const front = t.app.context.services.caching.pageCache.prepared;
    const prepared = front?.size;
    const written = recordWrites(cacheOf(t));
    const targets = pages.flatMap((page) => pathVariants(page, SITE_URL).map((target) => ({ page, target })));
    const failures: string[] = [];
    await eachLimited(targets, 8, async ({ page, target }) => {
      const res = await rawTarget(port(t), target);
      const cache = rawHeader(res, 'X-Cache');
      if (res.status !== 404 || cache !== undefined) failures.push(`${JSON.stringify(target)} (${page}): ${res.status} X-Cache ${cache ?? '-'}`);
    });
    recordFigures('reader pages under other spellings', { pages: pages.length, variants: targets.length, not404: failures.length, newCacheKeys: written.size });
    expect(failures).toEqual([]);
    expect([...written]).toEqual([]);
    expect(front?.size).toBe(prepared);
  }, 60_000);
});
