import { afterEach, describe, expect, it, vi } from 'vitest';
import { Gate, htmlPage, PageApp } from './page-app.ts';

let page: PageApp;

afterEach(async () => {
  await page?.close();
});

/** Sends `count` GETs at once and opens `gate` only when all of them have reached the app. */
async function burst(count: number, gate: Gate, path = '/page') {
  const pending = Array.from({ length: count }, () => page.http().get(path).then((res) => res));
  // Generous: on a loaded machine 100 connections can take more than the default second to arrive.
  await vi.waitFor(() => expect(page.arrivals).toBeGreaterThanOrEqual(count), { timeout: 15_000 });
  gate.open();
  return Promise.all(pending);
}

function tally(values: readonly unknown[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  return counts;
}

describe('cacheView() single-flight', () => {
  it('renders a cold page once for 100 concurrent requests', async () => {
    const gate = new Gate();
    page = new PageApp({}, async (ctx, n) => {
      await gate.opened;
      htmlPage(ctx, n);
    });
    const responses = await burst(100, gate);
    expect(page.renders).toBe(1);
    expect(tally(responses.map((res) => res.status))).toEqual({ 200: 100 });
    expect(tally(responses.map((res) => res.headers['x-cache']))).toEqual({ MISS: 1, HIT: 99 });
    expect(new Set(responses.map((res) => res.text))).toEqual(new Set(['<p>render 1 of /page</p>']));
  });

  it('gives all 100 concurrent requests the error of a throwing render, caches nothing, and renders again next time', async () => {
    const gate = new Gate();
    page = new PageApp({}, async (ctx, n) => {
      await gate.opened;
      if (n === 1) throw new Error('render failed');
      htmlPage(ctx, n);
    });
    const responses = await burst(100, gate);
    expect(tally(responses.map((res) => res.status))).toEqual({ 500: 100 });
    expect(page.renders).toBe(1);
    const next = await page.http().get('/page');
    expect(next.status).toBe(200);
    expect(next.headers['x-cache']).toBe('MISS');
    expect(page.renders).toBe(2);
  });

  it('lets waiters render their own page when the first render turned out uncacheable', async () => {
    const gate = new Gate();
    page = new PageApp({}, async (ctx, n) => {
      await gate.opened;
      htmlPage(ctx, n);
      if (n === 1) ctx.cookies.set('session', 'for-the-first-reader-only', { signed: false });
    });
    const responses = await burst(10, gate);
    expect(page.renders).toBe(10);
    const withCookie = responses.filter((res) => res.headers['set-cookie'] !== undefined);
    expect(withCookie).toHaveLength(1);
    expect(withCookie[0].text).toBe('<p>render 1 of /page</p>');
    // Nobody else received the first reader's page.
    expect(responses.filter((res) => res.text === '<p>render 1 of /page</p>')).toHaveLength(1);
    expect((await page.http().get('/page')).headers['x-cache']).toBe('MISS');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
  });
});

describe('cacheView() staleWhileRevalidate', () => {
  it('serves a stale page at once and refreshes it with one background render', async () => {
    const gate = new Gate();
    const cookies: string[] = [];
    page = new PageApp({ timeout: 60, staleWhileRevalidate: 30 }, async (ctx, n) => {
      cookies.push(ctx.get('Cookie'));
      if (n > 1) await gate.opened;
      htmlPage(ctx, n);
    });
    await page.http().get('/page');
    page.clock.advance(61_000);
    const stale = await page.http().get('/page').set('Cookie', 'session=author-secret');
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.text).toBe('<p>render 1 of /page</p>');
    // The refresh is still blocked in its render; more readers get the stale page, no new render.
    for (let i = 0; i < 5; i += 1) expect((await page.http().get('/page')).headers['x-cache']).toBe('STALE');
    await vi.waitFor(() => expect(page.renders).toBe(2));
    gate.open();
    await page.view.idle();
    expect(page.renders).toBe(2);
    // The background render saw no credentials of the reader who triggered it.
    expect(cookies[1]).toBe('');
    const fresh = await page.http().get('/page');
    expect(fresh.headers['x-cache']).toBe('HIT');
    expect(fresh.text).toBe('<p>render 2 of /page</p>');
  });

  it('renders in the background with the handler alone, never through the app again, and reports a failed render', async () => {
    const errors: unknown[] = [];
    let failing = false;
    page = new PageApp({ timeout: 60, staleWhileRevalidate: 600, onRevalidationError: (error) => errors.push(error) }, (ctx, n) => {
      if (failing) throw new Error('database down');
      htmlPage(ctx, n);
    });
    await page.http().get('/page');
    page.clock.advance(61_000);
    expect((await page.http().get('/page')).headers['x-cache']).toBe('STALE');
    await page.view.idle();
    expect([page.renders, page.arrivals]).toEqual([2, 2]);
    expect((await page.http().get('/page')).text).toBe('<p>render 2 of /page</p>');
    expect(errors).toEqual([]);

    page.clock.advance(61_000);
    failing = true;
    expect((await page.http().get('/page')).headers['x-cache']).toBe('STALE');
    await page.view.idle();
    expect([page.renders, page.arrivals]).toEqual([3, 4]);
    expect(errors.map(String)).toEqual(['Error: database down']);
    expect((await page.http().get('/page')).text).toBe('<p>render 2 of /page</p>');
  });

  it('gives the background render none of the reader\'s credentials, in any form of the request headers', async () => {
    const seen: string[] = [];
    page = new PageApp({ timeout: 60, staleWhileRevalidate: 30 }, (ctx, n) => {
      seen.push(JSON.stringify([ctx.req.headers, ctx.req.headersDistinct, ctx.req.rawHeaders, ctx.cookies.get('session') ?? null, ctx.state]));
      htmlPage(ctx, n);
    });
    await page.http().get('/page');
    page.clock.advance(61_000);
    const stale = await page.http().get('/page').set('Cookie', 'session=author-secret').set('Authorization', 'Bearer author-token').set('If-None-Match', '"x"');
    expect(stale.headers['x-cache']).toBe('STALE');
    await page.view.idle();
    expect(seen).toHaveLength(2);
    for (const secret of ['author-secret', 'author-token', '"x"']) expect(seen[1]).not.toContain(secret);
    expect(seen[1]).toContain('127.0.0.1');
    expect(JSON.parse(seen[1])[4]).toEqual({});
  });

  it('renders in the foreground once the stale window has passed', async () => {
    page = new PageApp({ timeout: 60, staleWhileRevalidate: 30 });
    await page.http().get('/page');
    page.clock.advance(91_000);
    const res = await page.http().get('/page');
    expect(res.headers['x-cache']).toBe('MISS');
    expect(res.text).toBe('<p>render 2 of /page</p>');
  });

  it('keeps the stale page when the background render fails, and drops it when the page is gone', async () => {
    let mode: 'ok' | 'fail' | 'gone' = 'ok';
    page = new PageApp({ timeout: 60, staleWhileRevalidate: 600 }, (ctx, n) => {
      if (mode === 'fail') throw new Error('database down');
      if (mode === 'gone') ctx.throw(404);
      htmlPage(ctx, n);
    });
    await page.http().get('/page');
    page.clock.advance(61_000);
    mode = 'fail';
    expect((await page.http().get('/page')).headers['x-cache']).toBe('STALE');
    await page.view.idle();
    expect((await page.http().get('/page')).text).toBe('<p>render 1 of /page</p>');
    await page.view.idle();
    mode = 'gone';
    expect((await page.http().get('/page')).headers['x-cache']).toBe('STALE');
    await page.view.idle();
    const gone = await page.http().get('/page');
    expect(gone.status).toBe(404);
  });
});

describe('cacheView() staleIfError', () => {
  it('serves the last good page when the new render throws or answers 5xx, never caching the error', async () => {
    let mode: 'ok' | 'throw' | '503' | '404' = 'ok';
    page = new PageApp({ timeout: 60, staleIfError: 300 }, (ctx, n) => {
      if (mode === 'throw') throw new Error('database down');
      if (mode === '404') ctx.throw(404);
      if (mode === '503') {
        ctx.status = 503;
        ctx.set('Retry-After', '5');
        ctx.body = 'unavailable';
        return;
      }
      htmlPage(ctx, n);
    });
    await page.http().get('/page');
    page.clock.advance(61_000);

    mode = 'throw';
    const thrown = await page.http().get('/page');
    expect([thrown.status, thrown.headers['x-cache'], thrown.text]).toEqual([200, 'STALE', '<p>render 1 of /page</p>']);
    mode = '503';
    const unavailable = await page.http().get('/page');
    expect([unavailable.status, unavailable.headers['x-cache']]).toEqual([200, 'STALE']);
    expect(unavailable.headers['retry-after']).toBeUndefined();
    expect(page.renders).toBe(3);

    // A client error is the truth about the page, not a failure to hide.
    mode = '404';
    expect((await page.http().get('/page')).status).toBe(404);

    page.clock.advance(300_000);
    mode = 'throw';
    expect((await page.http().get('/page')).status).toBe(500);

    mode = 'ok';
    const recovered = await page.http().get('/page');
    expect([recovered.status, recovered.headers['x-cache']]).toEqual([200, 'MISS']);
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
  });

  it('renders once for concurrent readers of an expired page and serves them all the stale page when it fails', async () => {
    const gate = new Gate();
    page = new PageApp({ timeout: 60, staleIfError: 300 }, async (ctx, n) => {
      if (n > 1) {
        await gate.opened;
        throw new Error('database down');
      }
      htmlPage(ctx, n);
    });
    await page.http().get('/page');
    page.clock.advance(61_000);
    page.arrivals = 0;
    const responses = await burst(20, gate);
    expect(page.renders).toBe(2);
    expect(tally(responses.map((res) => `${res.status} ${res.headers['x-cache']}`))).toEqual({ '200 STALE': 20 });
  });
});
