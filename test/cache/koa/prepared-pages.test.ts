import Koa from 'koa';
import type { Context } from 'koa';
import supertest from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { createPageCache, type PageCache, type PageViewOptions } from '../../../src/cache/koa/page-cache/page-cache.ts';
import type { PreparedPages } from '../../../src/cache/koa/page-cache/prepared-pages.ts';
import { useRequestFrame, type RequestReport } from '../../../src/cache/koa/request-frame.ts';
import type { CacheBackend } from '../../../src/cache/types.ts';
import { FlakyBackend } from '../helpers.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

/** The prepared pages of a page cache made with early answers. */
function preparedOf(pages: PageCache): PreparedPages {
  if (!pages.prepared) throw new Error('made without early answers');
  return pages.prepared;
}

/** A Koa app with the request frame answering early first, a counter of requests that reach the chain, then one cached route. */
function frontApp(viewOptions: PageViewOptions = {}, backendOf: (clock: FakeClock) => CacheBackend = (clock) => new MemoryBackend({ clock })) {
  const clock = new FakeClock();
  const cache = new Cache({ backend: backendOf(clock), clock, logger: new MemoryLogger() });
  const reports: RequestReport[] = [];
  const pages = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => ctx.get('Cookie') === '' } });
  const prepared = preparedOf(pages);
  const state = { reachedChain: 0, renders: 0 };
  const app = new Koa();
  useRequestFrame(app, { headers: { 'X-Frame-Options': 'DENY' }, reporters: [{ report: (r) => reports.push(r) }], earlyAnswers: prepared });
  app.use(async (ctx, next) => {
    state.reachedChain += 1;
    await next();
  });
  const view = pages.view({ timeout: 60, tags: () => ['pages'], ...viewOptions });
  app.use(view);
  app.use((ctx: Context) => {
    state.renders += 1;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'public, max-age=60');
    ctx.body = `<p>render ${state.renders} of ${ctx.url}</p>`;
  });
  // What was answered early, as the frame reported it.
  const served = () => reports.filter((report) => report.early);
  return { app, cache, clock, prepared, served, state, http: () => supertest(app.callback()) };
}

describe('PreparedPages', () => {
  it('answers a page cacheView served before, without running the chain, with the same response', async () => {
    const t = frontApp();
    const miss = await t.http().get('/page');
    const chainHit = await t.http().get('/page').set('Cookie', 'x=1');
    const frontHit = await t.http().get('/page');
    expect([miss.headers['x-cache'], chainHit.headers['x-cache'], frontHit.headers['x-cache']]).toEqual(['MISS', 'HIT', 'HIT']);
    expect(t.state).toEqual({ reachedChain: 2, renders: 1 });
    expect(t.prepared.answered).toBe(1);
    expect(frontHit.text).toBe('<p>render 1 of /page</p>');
    const same = ['content-type', 'content-length', 'etag', 'cache-control', 'x-frame-options', 'x-cache'];
    for (const name of same) expect([name, frontHit.headers[name]]).toEqual([name, chainHit.headers[name]]);
    expect(frontHit.headers['set-cookie']).toBeUndefined();
  });

  it('answers a hit in the tick it arrived when the cache can peek, and reads with get when it cannot', async () => {
    const t = frontApp();
    await t.http().get('/page');
    const get = vi.spyOn(t.cache, 'get');
    expect((await t.http().get('/page')).headers['x-cache']).toBe('HIT');
    expect([t.prepared.answered, get.mock.calls.length]).toEqual([1, 0]);

    // A backend that can only be awaited (no peekMany), like Redis without its near cache.
    const awaited = frontApp({}, (clock) => new FlakyBackend(new MemoryBackend({ clock })));
    await awaited.http().get('/page');
    const awaitedGet = vi.spyOn(awaited.cache, 'get');
    expect((await awaited.http().get('/page')).text).toBe('<p>render 1 of /page</p>');
    expect([awaited.prepared.answered, awaitedGet.mock.calls.length]).toEqual([1, 1]);
    await awaited.cache.invalidateTags(['pages']);
    expect((await awaited.http().get('/page')).text).toBe('<p>render 2 of /page</p>');
  });

  it('checks the cache on every answer: an invalidated tag, a deleted or an expired page goes down the chain', async () => {
    const t = frontApp();
    await t.http().get('/page');
    await t.cache.invalidateTags(['pages']);
    const afterTag = await t.http().get('/page');
    expect([afterTag.headers['x-cache'], afterTag.text]).toEqual(['MISS', '<p>render 2 of /page</p>']);
    expect((await t.http().get('/page')).text).toBe('<p>render 2 of /page</p>');
    await t.cache.clear();
    expect((await t.http().get('/page')).text).toBe('<p>render 3 of /page</p>');
    t.clock.advance(61_000);
    expect((await t.http().get('/page')).text).toBe('<p>render 4 of /page</p>');
    expect(t.state.renders).toBe(4);
    expect(t.prepared.answered).toBe(1);
  });

  it('leaves requests it may not answer to the chain: ineligible, forced update, other methods', async () => {
    let forced = false;
    const t = frontApp({ forcedUpdate: () => forced });
    await t.http().get('/page');
    await t.http().get('/page').set('Cookie', 'session=1');
    await t.http().post('/page'); // not cacheable: rendered by the chain
    forced = true;
    const refreshed = await t.http().get('/page');
    expect(refreshed.text).toBe('<p>render 3 of /page</p>');
    expect(t.state.reachedChain).toBe(4);
    expect(t.prepared.answered).toBe(0);
  });

  it('answers If-None-Match with 304 and HEAD without a body, and reports each answer', async () => {
    const t = frontApp({ queryString: true });
    const first = await t.http().get('/page?a=1');
    const notModified = await t.http().get('/page?a=1').set('If-None-Match', first.headers.etag);
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe(first.headers.etag);
    expect(notModified.headers['content-type']).toBeUndefined();
    const head = await t.http().head('/page?a=1');
    expect([head.status, head.headers['content-length'], head.text]).toEqual([200, first.headers['content-length'], undefined]);
    expect(t.served().map((s) => s.status)).toEqual([304, 200]);
    expect(t.state.reachedChain).toBe(1);
  });

  it('prepares nothing for a route whose key is made by makeCacheKey (it may depend on more than the URL)', async () => {
    const t = frontApp({ makeCacheKey: (ctx) => `page:${ctx.get('Accept-Language')}` });
    await t.http().get('/page').set('Accept-Language', 'fr');
    await t.http().get('/page').set('Accept-Language', 'fr');
    expect(t.prepared.size).toBe(0);
    expect(t.prepared.answered).toBe(0);
  });

  it('prepares only URLs written as their key holds them, so junk queries neither evict nor take the place of a page', async () => {
    const clock = new FakeClock();
    const cache = new Cache({ backend: new MemoryBackend({ clock }), clock, logger: new MemoryLogger() });
    const pages = createPageCache({ cache, earlyAnswers: { eligible: () => true, maxEntries: 2 } });
    const prepared = preparedOf(pages);
    const app = new Koa();
    let reachedChain = 0;
    useRequestFrame(app, { headers: {}, earlyAnswers: prepared });
    app.use(async (ctx, next) => {
      reachedChain += 1;
      await next();
    });
    app.use(pages.view({ timeout: 60, queryString: ['page'] }));
    app.use((ctx) => {
      ctx.body = `page ${String(ctx.query.page ?? 1)}`;
    });
    const http = () => supertest(app.callback());
    await http().get('/?page=1');
    await http().get('/?page=2');
    expect(prepared.size).toBe(2);
    for (let i = 0; i < 20; i += 1) {
      for (const url of [`/?page=1&junk=${i}`, `/?junk=${i}&page=2`, `/?page=%3${1 + (i % 2)}`, `/?x=${i}`]) {
        const res = await http().get(url);
        expect([url, res.status, res.text]).toEqual([url, 200, `page ${url.includes('x=') || url.endsWith('%31') || url.includes('page=1') ? 1 : 2}`]);
      }
    }
    expect(prepared.size).toBe(2);
    const before = reachedChain;
    expect((await http().get('/?page=1')).text).toBe('page 1');
    expect((await http().get('/?page=2')).text).toBe('page 2');
    expect(reachedChain).toBe(before);
    expect((await http().get('/?page=2&junk=1')).text).toBe('page 2');
    expect(reachedChain).toBe(before + 1);
  });

  it('stays within its bounds', async () => {
    const clock = new FakeClock();
    const cache = new Cache({ backend: new MemoryBackend({ clock }), clock, logger: new MemoryLogger() });
    const pages = createPageCache({ cache, earlyAnswers: { eligible: () => true, maxEntries: 2 } });
    const prepared = preparedOf(pages);
    const app = new Koa();
    useRequestFrame(app, { headers: {}, earlyAnswers: prepared });
    app.use(pages.view({ timeout: 60, queryString: true }));
    app.use((ctx) => {
      ctx.body = `page ${ctx.url}`;
    });
    for (const n of [1, 2, 3]) await supertest(app.callback()).get(`/?n=${n}`);
    expect(prepared.size).toBe(2);
  });
});
