import Koa from 'koa';
import type { Context } from 'koa';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { createPageCache, type PageViewOptions } from '../../../src/cache/koa/page-cache/page-cache.ts';
import { useRequestFrame } from '../../../src/cache/koa/request-frame.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

/**
 * A page the page cache stores for readers tells a shared HTTP cache (Varnish, a CDN) to keep it
 * as long and lists its tags, on every answer: the render, a hit, an early answer.
 */
function app(options: PageViewOptions = {}, handler: (ctx: Context) => void = () => {}) {
  const clock = new FakeClock();
  const cache = new Cache({ backend: new MemoryBackend({ clock }), clock, logger: new MemoryLogger() });
  const pages = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => ctx.get('Cookie') === '' } });
  const prepared = pages.prepared;
  if (!prepared) throw new Error('made without early answers');
  const koa = new Koa();
  useRequestFrame(koa, { headers: {}, earlyAnswers: prepared });
  const render = (ctx: Context) => {
    ctx.type = 'html';
    ctx.body = `<p>${ctx.path}</p>`;
    handler(ctx);
  };
  koa.use(pages.view({ timeout: 1200, tags: (ctx) => ['lists', `page:${ctx.path.slice(1)}`], unless: (ctx) => ctx.get('X-Author') !== '', render, ...options }));
  return { prepared, http: () => supertest(koa.callback()) };
}

const SHARED = { 'cache-control': 'public, max-age=0, s-maxage=1200', xkey: 'lists page:a', 'surrogate-key': 'lists page:a' };
const pick = (headers: Record<string, string>) => ({ 'cache-control': headers['cache-control'], xkey: headers.xkey, 'surrogate-key': headers['surrogate-key'] });

describe('cacheView() shared-cache headers', () => {
  it('are on the MISS, the HIT and the early answer of a page stored for readers', async () => {
    const t = app();
    const miss = await t.http().get('/a');
    const hit = await t.http().get('/a').set('Cookie', 'x=1');
    const fromFront = await t.http().get('/a');
    expect([miss, hit, fromFront].map((res) => res.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT']);
    expect(t.prepared.answered).toBe(1);
    for (const res of [miss, hit, fromFront]) expect(pick(res.headers)).toEqual(SHARED);
  });

  it('are never on a bypass, an uncacheable page or an error', async () => {
    const t = app({}, (ctx) => {
      if (ctx.path === '/cookie') ctx.cookies.set('c', '1');
      if (ctx.path === '/missing') ctx.status = 404;
    });
    const responses = [
      await t.http().get('/a').set('X-Author', '1'),
      await t.http().get('/cookie'),
      await t.http().get('/missing'),
      await t.http().get('/a').set('X-Author', '1'),
    ];
    for (const res of responses) {
      expect([res.headers.xkey, res.headers['surrogate-key']]).toEqual([undefined, undefined]);
      expect(res.headers['cache-control'] ?? '').not.toContain('public');
    }
  });

  it('keep a Cache-Control the handler chose, and carry the stale windows otherwise', async () => {
    const own = app({}, (ctx) => ctx.set('Cache-Control', 'public, max-age=60'));
    const res = await own.http().get('/a');
    expect([res.headers['cache-control'], res.headers.xkey]).toEqual(['public, max-age=60', 'lists page:a']);
    const stale = app({ staleWhileRevalidate: 30, staleIfError: 600 });
    expect((await stale.http().get('/a')).headers['cache-control']).toBe('public, max-age=0, s-maxage=1200, stale-while-revalidate=30, stale-if-error=600');
  });
});
