import Koa from 'koa';
import type { Context, Next } from 'koa';
import supertest from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { createPageCache } from '../../../src/cache/koa/page-cache/page-cache.ts';
import { useRequestFrame, type EarlyAnswers, type RequestFrameOptions, type RequestInspector, type RequestReport } from '../../../src/cache/koa/request-frame.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

/**
 * A Koa app with the request frame first, an inner error handler and a counter of requests that
 * reach the chain, then one cached route under `/page` and an uncached `/boom` that throws.
 */
function frameApp(options: Partial<RequestFrameOptions> = {}) {
  const clock = new FakeClock();
  const cache = new Cache({ backend: new MemoryBackend({ clock }), clock, logger: new MemoryLogger() });
  const pages = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => ctx.get('Cookie') === '' } });
  const reports: RequestReport[] = [];
  const state = { reachedChain: 0 };
  const app = new Koa();
  app.silent = true;
  useRequestFrame(app, { headers: { 'X-Frame-Header': 'on every response' }, reporters: [{ report: (r) => reports.push(r) }], earlyAnswers: pages.prepared, ...options });
  app.use(async (ctx, next) => {
    state.reachedChain += 1;
    try {
      await next();
    } catch {
      ctx.status = 500;
      ctx.body = 'error page';
    }
  });
  const view = pages.view({
    timeout: 60,
    render: (ctx: Context) => {
      ctx.type = 'html';
      ctx.body = '<p>page</p>';
    },
  });
  app.use(async (ctx, next) => {
    if (ctx.path === '/boom') throw new Error('boom');
    if (ctx.path === '/page') return view(ctx, next);
    return next();
  });
  const answered = () => pages.prepared?.answered ?? 0;
  return { app, pages, reports, state, answered, http: () => supertest(app.callback()) };
}

describe('useRequestFrame()', () => {
  it('puts its headers on every response: early answers and their 304s, the chain, error pages and refusals', async () => {
    const t = frameApp({ admit: (ctx) => !ctx.path.endsWith('/') });
    const miss = await t.http().get('/page').expect(200);
    const early = await t.http().get('/page').expect(200);
    const notModified = await t.http().get('/page').set('If-None-Match', String(early.headers.etag)).expect(304);
    const error = await t.http().get('/boom').expect(500);
    const missing = await t.http().get('/nothing').expect(404);
    const refused = await t.http().get('/page/').expect(404);
    expect(t.answered()).toBe(2);
    for (const res of [miss, early, notModified, error, missing, refused]) {
      expect([res.status, res.headers['x-frame-header']]).toEqual([res.status, 'on every response']);
    }
  });

  it('gives every response its request id as X-Request-Id, early answers, 304s, errors and refusals included, and reports it', async () => {
    let n = 0;
    const t = frameApp({ admit: (ctx) => !ctx.path.endsWith('/'), requestId: () => `id-${++n}` });
    const responses = [
      await t.http().get('/page').expect(200),
      await t.http().get('/page').expect(200),
      await t.http().get('/page').set('If-None-Match', 'W/"nothing"').expect(200),
      await t.http().get('/boom').expect(500),
      await t.http().get('/page/').expect(404),
    ];
    expect(t.answered()).toBe(2);
    expect(responses.map((res) => res.headers['x-request-id'])).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5']);
    expect(t.reports.map((r) => [r.requestId, r.early])).toEqual([
      ['id-1', false],
      ['id-2', true],
      ['id-3', true],
      ['id-4', false],
      ['id-5', false],
    ]);
    const stored = await t.http().get('/page').expect(200);
    expect(stored.headers['x-request-id']).toBe('id-6');
  });

  it('refuses a requestId that is not a function', () => {
    expect(() => useRequestFrame(new Koa(), { headers: {}, requestId: 'x' as never })).toThrow(/`requestId` must be a function/);
  });

  it('gives a frame header precedence over a stored header of the same name, as on the chain', async () => {
    const t = frameApp({ headers: { 'Content-Language': 'frame' } });
    await t.http().get('/page').expect(200);
    const early = await t.http().get('/page').expect(200);
    expect(t.answered()).toBe(1);
    expect(early.headers['content-language']).toBe('frame');
  });

  it('answers 404 to a request admit refuses, before the page cache or the chain reads it', async () => {
    const find = vi.fn<EarlyAnswers['find']>(() => undefined);
    const t = frameApp({ admit: (ctx) => ctx.path !== '/PAGE', earlyAnswers: { find } });
    const refused = await t.http().get('/PAGE').expect(404);
    expect([refused.text, refused.headers['content-type']]).toEqual(['Not Found', 'text/plain; charset=utf-8']);
    expect([find.mock.calls.length, t.state.reachedChain]).toEqual([0, 0]);
    expect(t.reports.map((r) => [r.status, r.route, r.early])).toEqual([[404, 'unmatched', false]]);
  });

  it('reports every response once: early answers with their route, status, bytes and page cache outcome', async () => {
    const t = frameApp();
    await t.http().get('/page').expect(200);
    const early = await t.http().get('/page').expect(200);
    await t.http().get('/page').set('If-None-Match', String(early.headers.etag)).expect(304);
    await t.http().head('/page').expect(200);
    await t.http().get('/boom').expect(500);
    const summary = t.reports.map((r) => [r.method, r.path, r.status, r.early, r.bytes, r.pageCache?.status, r.pageCache?.reason]);
    expect(summary).toEqual([
      ['GET', '/page', 200, false, 11, 'MISS', 'absent'],
      ['GET', '/page', 200, true, 11, 'HIT', 'early-fresh'],
      ['GET', '/page', 304, true, 0, 'HIT', 'early-fresh'],
      ['HEAD', '/page', 200, true, 0, 'HIT', 'early-fresh'],
      ['GET', '/boom', 500, false, 10, undefined, undefined],
    ]);
    expect(t.reports.every((r) => r.durationMs >= 0 && r.route === 'unmatched')).toBe(true);
  });

  it('answers all the same when a reporter throws', async () => {
    const t = frameApp({ reporters: [{ report: () => { throw new Error('reporter down'); } }] });
    await t.http().get('/page').expect(200);
    expect((await t.http().get('/page').expect(200)).text).toBe('<p>page</p>');
    expect(t.answered()).toBe(1);
  });

  it('lets a personal rule win on an early answer: Koa then writes it, with the rule\'s header', async () => {
    const t = frameApp({ personalize: (ctx) => (ctx.get('X-Personal') ? void ctx.set('Cache-Control', 'private, no-store') : undefined) });
    await t.http().get('/page').expect(200);
    const personal = await t.http().get('/page').set('X-Personal', '1').expect(200);
    expect(t.answered()).toBe(1);
    expect([personal.headers['x-cache'], personal.headers['cache-control'], personal.text]).toEqual(['HIT', 'private, no-store', '<p>page</p>']);
    expect(personal.headers['x-frame-header']).toBe('on every response');
    expect(personal.headers['content-length']).toBe('11');
  });

  it('gives an inspected request the same early answer, as a Koa response the inspector may rewrite', async () => {
    const seen: string[] = [];
    const inspector: RequestInspector = {
      wants: (ctx) => ctx.get('X-Inspect') === '1',
      async inspect(ctx, answer) {
        await answer();
        seen.push(`${ctx.state.pageCache?.reason ?? '-'} ${ctx.status}`);
        ctx.body = `${String(ctx.body)}<!-- inspected -->`;
      },
    };
    const t = frameApp({ inspector });
    await t.http().get('/page').set('X-Inspect', '1').expect(200);
    const early = await t.http().get('/page').set('X-Inspect', '1').expect(200);
    expect(t.answered()).toBe(1);
    expect(seen).toEqual(['absent 200', 'early-fresh 200']);
    expect([early.text, early.headers['x-cache'], early.headers['x-frame-header']]).toEqual(['<p>page</p><!-- inspected -->', 'HIT', 'on every response']);
    expect(t.reports.map((r) => r.early)).toEqual([false, true]);
  });

  it('lets the chain answer when an early answer cannot be written', async () => {
    const broken = { status: 200, headers: ['X-Broken', 'line\nbreak'], body: Buffer.from('never sent'), route: '/page' } as const;
    const t = frameApp({ earlyAnswers: { find: (ctx) => (ctx.path === '/page' ? broken : undefined) } });
    const res = await t.http().get('/page').expect(200);
    expect([res.text, res.headers['x-broken'], t.state.reachedChain]).toEqual(['<p>page</p>', undefined, 1]);
    expect(t.reports.map((r) => r.early)).toEqual([false]);
  });

  it('refuses bad options at start-up', () => {
    for (const bad of [undefined, {}, { headers: {}, admit: 'yes' }, { headers: {}, reporters: [{}] }, { headers: {}, earlyAnswers: {} }, { headers: {}, inspector: { wants: () => true } }]) {
      expect(() => Reflect.apply(useRequestFrame, undefined, [new Koa(), bad]), JSON.stringify(bad)).toThrow(TypeError);
    }
    const app = new Koa();
    useRequestFrame(app, { headers: {} });
    expect(app.middleware.map((m) => m.name)).toEqual(['requestFrame']);
    // Mounted after another middleware, the frame would not see every request first.
    expect(() => useRequestFrame(app, { headers: {} })).toThrow(/before any other middleware/);
  });

  it("writes early answers before Koa's own handling, which every other request still goes through", async () => {
    type Handling = (ctx: Context, middleware: unknown) => Promise<void>;
    const koa = Koa.prototype as unknown as { handleRequest: Handling };
    const original = koa.handleRequest;
    const koaHandled: string[] = [];
    // Counted on the prototype before the app is made: the frame hands on to the handling it found.
    const spy = vi.spyOn(koa, 'handleRequest').mockImplementation(function (this: Koa, ctx, middleware) {
      koaHandled.push(ctx.path);
      return original.call(this, ctx, middleware);
    });
    try {
      const t = frameApp();
      await t.http().get('/page').expect(200);
      await t.http().get('/page').expect(200);
      await t.http().get('/page').set('If-None-Match', '"other"').expect(200);
      await t.http().get('/nothing').expect(404);
      expect(t.answered()).toBe(2);
      expect(koaHandled).toEqual(['/page', '/nothing']);
    } finally {
      spy.mockRestore();
    }
  });

  it('does all but early answers inside another app, which runs its middleware alone (as koa-mount does)', async () => {
    const t = frameApp({ requestId: () => 'id' });
    const outer = new Koa();
    outer.silent = true;
    // What koa-mount does: the mounted app's middleware run in the outer app's chain, not its handleRequest.
    const chain = t.app.middleware;
    const run = (i: number, ctx: Context, next: Next): Promise<void> => (i === chain.length ? next() : Promise.resolve(chain[i](ctx, () => run(i + 1, ctx, next))));
    outer.use((ctx, next) => run(0, ctx, next));
    const http = supertest(outer.callback());
    await http.get('/page').expect(200);
    const again = await http.get('/page').expect(200);
    expect([again.headers['x-cache'], again.headers['x-frame-header'], again.headers['x-request-id']]).toEqual(['HIT', 'on every response', 'id']);
    expect(t.answered()).toBe(0);
    expect(t.reports.map((r) => [r.status, r.early])).toEqual([
      [200, false],
      [200, false],
    ]);
  });

  it('answers 500 through Koa, and keeps serving, when a rule of its own throws', async () => {
    let broken = true;
    const t = frameApp({
      normalize: () => {
        if (broken) throw new Error('normalize failed');
      },
    });
    await t.http().get('/page').expect(500);
    broken = false;
    await t.http().get('/page').expect(200);
    const early = await t.http().get('/page').expect(200);
    expect([early.headers['x-cache'], t.answered()]).toEqual(['HIT', 1]);
  });
});
