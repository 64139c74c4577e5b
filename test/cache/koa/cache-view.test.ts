import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pageBodyKey, viewKey } from '../../../src/cache/keys.ts';
import { createPageCache } from '../../../src/cache/koa/page-cache/page-cache.ts';
import { cacheView } from '../../../src/cache/koa/page-cache/view.ts';
import { etagOf, loadPage } from '../../../src/cache/koa/page-cache/stored-page.ts';
import { htmlPage, PageApp, type PageHandler } from './page-app.ts';

let page: PageApp;

function setup(...args: ConstructorParameters<typeof PageApp>): PageApp {
  page = new PageApp(...args);
  return page;
}

afterEach(async () => {
  await page?.close();
});

describe('cacheView() hit, miss and bypass', () => {
  it('renders once and then serves the stored page with X-Cache MISS then HIT', async () => {
    setup();
    const first = await page.http().get('/page');
    const second = await page.http().get('/page');
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(page.renders).toBe(1);
  });

  it('keeps one entry per path', async () => {
    setup();
    await page.http().get('/a');
    const b = await page.http().get('/b');
    expect(b.headers['x-cache']).toBe('MISS');
    expect(b.text).toContain('of /b');
    expect(page.renders).toBe(2);
  });

  it('bypasses the cache when unless() says so, rendering every time', async () => {
    setup({ unless: (ctx) => ctx.get('X-Author') === 'yes' });
    await page.http().get('/page');
    const author = await page.http().get('/page').set('X-Author', 'yes');
    const again = await page.http().get('/page').set('X-Author', 'yes');
    expect(author.headers['x-cache']).toBe('BYPASS');
    expect(again.headers['x-cache']).toBe('BYPASS');
    expect(page.renders).toBe(3);
    // The reader's entry was neither used nor replaced by the author's renders.
    const reader = await page.http().get('/page');
    expect(reader.headers['x-cache']).toBe('HIT');
    expect(reader.text).toBe('<p>render 1 of /page</p>');
  });

  it('does not store a page when unless() turns true during the render', async () => {
    setup({ unless: (ctx) => Boolean(ctx.response.get('X-Personal')) }, (ctx, n) => {
      htmlPage(ctx, n);
      ctx.set('X-Personal', '1');
    });
    expect((await page.http().get('/page')).headers['x-cache']).toBe('BYPASS');
    await page.http().get('/page');
    expect(page.renders).toBe(2);
  });

  it('records what happened in ctx.state.pageCache for outer middleware', async () => {
    setup({ unless: (ctx) => ctx.query.bypass === '1', queryString: true });
    expect((await page.http().get('/page')).headers['x-seen-status']).toBe('MISS');
    expect((await page.http().get('/page')).headers['x-seen-status']).toBe('HIT');
    expect((await page.http().get('/page?bypass=1')).headers['x-seen-status']).toBe('BYPASS');
  });

  it('records why in ctx.state.pageCache.reason, on each path through the cache', async () => {
    let cookie = false;
    setup({ unless: (ctx) => ctx.get('X-Author') === 'yes', forcedUpdate: (ctx) => ctx.get('X-Force') === '1', staleWhileRevalidate: 30 }, (ctx, n) => {
      htmlPage(ctx, n);
      if (cookie) ctx.cookies.set('session', 'x', { signed: false });
    });
    const seen = async (request: ReturnType<ReturnType<typeof page.http>['get']>) => {
      const res = await request;
      return `${String(res.headers['x-seen-status'])} ${String(res.headers['x-seen-reason'])}`;
    };
    expect(await seen(page.http().get('/page'))).toBe('MISS absent');
    expect(await seen(page.http().get('/page'))).toBe('HIT fresh');
    expect(await seen(page.http().head('/page'))).toBe('HIT fresh');
    expect(await seen(page.http().get('/page').set('X-Author', 'yes'))).toBe('BYPASS unless');
    expect(await seen(page.http().get('/page?x=1'))).toBe('BYPASS query-string');
    expect(await seen(page.http().post('/page'))).toBe('BYPASS method');
    expect(await seen(page.http().get('/page').set('X-Force', '1'))).toBe('MISS forced');
    page.clock.advance(61_000);
    expect(await seen(page.http().get('/page'))).toBe('STALE stale-while-revalidate');
    await page.view.idle();
    expect(await seen(page.http().head('/other'))).toBe('MISS head-miss');
    cookie = true;
    expect(await seen(page.http().get('/other'))).toBe('BYPASS not-stored:set-cookie');
  });

  it('stores what the route produced, before outer middleware rewrites the response', async () => {
    setup();
    page.outer = (ctx) => {
      if (typeof ctx.body === 'string' || Buffer.isBuffer(ctx.body)) ctx.body = `${ctx.body.toString()}<toolbar>`;
    };
    await page.http().get('/page');
    const hit = await page.http().get('/page');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('<p>render 1 of /page</p><toolbar>');
  });

  it('emits its cache operations with origin view and the path as detail', async () => {
    setup();
    await page.http().get('/page');
    await page.http().get('/page');
    const key = page.view.makeCacheKey(page.contextFor('/page'));
    const ops = page.events.map((event) => `${event.op}:${event.result}:${event.origin}:${event.detail}:${event.key === key ? 'page' : 'body'}`);
    // A miss stores the body, then the record naming it; a hit reads only the record.
    expect(ops).toEqual(['get:miss:view:/page:page', 'set:set:view:/page:body', 'set:set:view:/page:page', 'get:hit:view:/page:page']);
  });
});

describe('cacheView() never stores what must not be cached', () => {
  async function rendersTwice(handler: PageHandler, expected: string, method: 'get' | 'post' = 'get') {
    setup({}, handler);
    const first = await page.http()[method]('/page');
    const second = await page.http()[method]('/page');
    expect(page.renders).toBe(2);
    expect(first.headers['x-cache']).toBe(expected);
    expect(second.headers['x-cache']).toBe(expected);
    return second;
  }

  it('passes other methods through with X-Cache BYPASS', async () => {
    await rendersTwice(htmlPage, 'BYPASS', 'post');
  });

  it('does not store a 404', async () => {
    const res = await rendersTwice((ctx) => {
      ctx.status = 404;
      ctx.body = 'not here';
    }, 'MISS');
    expect(res.status).toBe(404);
  });

  it('does not store a redirect', async () => {
    const res = await rendersTwice((ctx) => ctx.redirect('/elsewhere'), 'MISS');
    expect(res.status).toBe(302);
  });

  it('does not store, and never replays, a response with Set-Cookie', async () => {
    const res = await rendersTwice((ctx, n) => {
      htmlPage(ctx, n);
      ctx.cookies.set('session', 'secret', { signed: false });
    }, 'BYPASS');
    expect(res.headers['set-cookie']).toBeDefined();
  });

  it('stores the page without the cookie once a render comes without Set-Cookie', async () => {
    setup({}, (ctx, n) => {
      htmlPage(ctx, n);
      if (n === 1) ctx.cookies.set('session', 'secret', { signed: false });
    });
    expect((await page.http().get('/page')).headers['set-cookie']).toBeDefined();
    await page.http().get('/page');
    const hit = await page.http().get('/page');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['set-cookie']).toBeUndefined();
    expect(hit.text).toBe('<p>render 2 of /page</p>');
    const stored = await loadPage(page.cache, page.view.makeCacheKey(page.contextFor('/page')));
    expect(stored?.headers.map(([name]) => name)).toEqual(['content-type', 'cache-control']);
  });

  it.each(['private', 'no-store', 'no-cache', 'public, no-store', 'private="set-cookie", max-age=60'])(
    'does not store a response marked Cache-Control: %s',
    async (value) => {
      await rendersTwice((ctx, n) => {
        htmlPage(ctx, n);
        ctx.set('Cache-Control', value);
      }, 'BYPASS');
    },
  );

  it('does not store a response that varies on a request header the key ignores', async () => {
    await rendersTwice((ctx, n) => {
      htmlPage(ctx, n);
      ctx.vary('Cookie');
    }, 'BYPASS');
  });

  it('does not store a streamed body', async () => {
    const res = await rendersTwice((ctx) => {
      ctx.type = 'text';
      ctx.body = Readable.from(['streamed']);
    }, 'BYPASS');
    expect(res.text).toBe('streamed');
  });

  it('does not store what responseFilter refuses', async () => {
    setup({ responseFilter: (ctx) => !String(ctx.body).includes('render 1') });
    expect((await page.http().get('/page')).headers['x-cache']).toBe('BYPASS');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('MISS');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
    expect(page.renders).toBe(2);
  });

  it('stores a page whose Vary is only Accept-Encoding', async () => {
    setup({}, (ctx, n) => {
      htmlPage(ctx, n);
      ctx.vary('Accept-Encoding');
    });
    await page.http().get('/page');
    const hit = await page.http().get('/page');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers.vary).toBe('Accept-Encoding');
  });
});

describe('cacheView() replays exactly', () => {
  it('replays the same bytes, content type and allow-listed headers, and nothing else', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0x0a, 0xc3]);
    setup({}, (ctx) => {
      ctx.type = 'application/octet-stream';
      ctx.set('Content-Language', 'fr');
      ctx.set('Link', '</style.css>; rel=preload');
      ctx.set('X-Request-Only', 'per-request');
      ctx.body = bytes;
    });
    const get = () =>
      page
        .http()
        .get('/file')
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        });
    const miss = await get();
    const hit = await get();
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(bytes);
    expect(miss.body).toEqual(bytes);
    expect(hit.headers['content-type']).toBe('application/octet-stream');
    expect(hit.headers['content-language']).toBe('fr');
    expect(hit.headers.link).toBe('</style.css>; rel=preload');
    expect(hit.headers['content-length']).toBe(String(bytes.length));
    expect(hit.headers['x-request-only']).toBeUndefined();
  });

  it('replays UTF-8 text unchanged', async () => {
    setup({}, (ctx) => {
      ctx.type = 'html';
      ctx.body = '<p>日本語 — ünïcödé 🎉</p>';
    });
    await page.http().get('/page');
    const hit = await page.http().get('/page');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('<p>日本語 — ünïcödé 🎉</p>');
    expect(hit.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('stores JSON bodies as the bytes Koa sends', async () => {
    setup({}, (ctx, n) => {
      ctx.body = { posts: [{ id: n, title: 'Ünïcode' }], page: 1 };
    });
    const miss = await page.http().get('/api');
    const hit = await page.http().get('/api');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.body).toEqual({ posts: [{ id: 1, title: 'Ünïcode' }], page: 1 });
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('keeps the page key readable as viewKey(prefix, path, query)', () => {
    setup({ keyPrefix: 'posts', queryString: true });
    expect(page.view.makeCacheKey(page.contextFor('/list?b=2&a=1'))).toBe(viewKey('posts', '/list', 'a=1&b=2', { queryString: true }));
  });

  it('serves a page stored by another process, and renders again if its body has gone', async () => {
    setup();
    const other = new PageApp({}, htmlPage, page);
    try {
      await page.http().get('/page');
      const hit = await other.http().get('/page');
      expect([hit.headers['x-cache'], hit.text]).toEqual(['HIT', '<p>render 1 of /page</p>']);
      const record = await page.cache.get(page.view.makeCacheKey(page.contextFor('/page')));
      expect(record).toMatchObject({ etag: hit.headers.etag });
      await page.cache.delete(pageBodyKey(hit.headers.etag));
      const third = new PageApp({}, htmlPage, page);
      try {
        const res = await third.http().get('/page');
        expect([res.headers['x-cache'], res.text]).toEqual(['MISS', '<p>render 1 of /page</p>']);
        expect(third.renders).toBe(1);
      } finally {
        await third.close();
      }
    } finally {
      await other.close();
    }
  });

  it('serves a page a process of the previous release stored (record format 2) as a HIT', async () => {
    setup();
    const body = Buffer.from('<p>stored by the previous release</p>');
    const etag = etagOf(body);
    await page.cache.set(pageBodyKey(etag), body.toString('utf8'));
    const v2 = { v: 2, t: page.clock.now(), e: etag, n: body.length, b: 'u', h: [['content-type', 'text/html; charset=utf-8']] };
    await page.cache.set(page.view.makeCacheKey(page.contextFor('/page')), v2);
    const res = await page.http().get('/page');
    expect([res.headers['x-cache'], res.headers.etag, res.headers['content-type'], res.text]).toEqual([
      'HIT',
      etag,
      'text/html; charset=utf-8',
      '<p>stored by the previous release</p>',
    ]);
    expect(page.renders).toBe(0);
  });

  it('treats an entry it cannot read as a miss and overwrites it', async () => {
    setup();
    await page.cache.set(viewKey('', '/page', '', { queryString: false }), 'not a page');
    const res = await page.http().get('/page');
    expect(res.headers['x-cache']).toBe('MISS');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
    expect(page.renders).toBe(1);
  });
});

describe('cacheView() conditional requests', () => {
  it('gives a strong ETag that a matching If-None-Match turns into a 304 without a body', async () => {
    setup();
    const miss = await page.http().get('/page');
    const etag = miss.headers.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const hit = await page.http().get('/page');
    expect(hit.headers.etag).toBe(etag);
    const notModified = await page.http().get('/page').set('If-None-Match', etag);
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers['x-cache']).toBe('HIT');
    expect(notModified.headers.etag).toBe(etag);
    const weak = await page.http().get('/page').set('If-None-Match', `"other", W/${etag}`);
    expect(weak.status).toBe(304);
    expect(page.renders).toBe(1);
  });

  it('answers 200 with the body when If-None-Match does not match', async () => {
    setup();
    await page.http().get('/page');
    const res = await page.http().get('/page').set('If-None-Match', '"stale"');
    expect(res.status).toBe(200);
    expect(res.text).toBe('<p>render 1 of /page</p>');
  });

  it('answers 304 already on the miss when the client holds the same bytes', async () => {
    setup({}, (ctx) => {
      ctx.body = 'the same every time';
    });
    const first = await page.http().get('/page');
    await page.cache.clear();
    const res = await page.http().get('/page').set('If-None-Match', first.headers.etag);
    expect(res.headers['x-cache']).toBe('MISS');
    expect(res.status).toBe(304);
  });
});

describe('cacheView() HEAD', () => {
  it('answers HEAD from the GET entry without a body', async () => {
    setup();
    const get = await page.http().get('/page');
    const head = await page.http().head('/page');
    expect(head.status).toBe(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.text ?? '').toBe('');
    expect(page.renders).toBe(1);
  });

  it('never stores from a HEAD request', async () => {
    setup();
    expect((await page.http().head('/page')).headers['x-cache']).toBe('MISS');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('MISS');
    expect(page.renders).toBe(2);
  });
});

describe('cacheView() query strings', () => {
  it('with queryString, shares one entry between parameter orders and keeps queries apart', async () => {
    setup({ queryString: true });
    expect((await page.http().get('/list?a=1&b=2')).headers['x-cache']).toBe('MISS');
    expect((await page.http().get('/list?b=2&a=1')).headers['x-cache']).toBe('HIT');
    expect((await page.http().get('/list?a=2&b=2')).headers['x-cache']).toBe('MISS');
    expect((await page.http().get('/list')).headers['x-cache']).toBe('MISS');
    expect(page.renders).toBe(3);
  });

  it('without queryString, bypasses requests that carry a query instead of answering another page', async () => {
    setup({}, (ctx, n) => {
      ctx.body = `render ${n} page ${String(ctx.query.page ?? 1)}`;
    });
    await page.http().get('/list');
    const paged = await page.http().get('/list?page=2');
    expect(paged.headers['x-cache']).toBe('BYPASS');
    expect(paged.text).toBe('render 2 page 2');
    expect((await page.http().get('/list')).text).toBe('render 1 page 1');
  });

  it('with a list of names, keys only those parameters: junk shares the page, read values stay apart', async () => {
    setup({ queryString: ['page'] }, (ctx, n) => {
      ctx.body = `render ${n} page ${String(ctx.query.page ?? 1)}`;
    });
    expect((await page.http().get('/list?page=2')).headers['x-cache']).toBe('MISS');
    for (const junk of ['/list?page=2&utm_source=x', '/list?z=1&page=2', '/list?page=%32', '/list?Page=9&page=2']) {
      const res = await page.http().get(junk);
      expect([junk, res.headers['x-cache'], res.text]).toEqual([junk, 'HIT', 'render 1 page 2']);
    }
    expect((await page.http().get('/list?page=3&x=1')).text).toBe('render 2 page 3');
    expect((await page.http().get('/list?junk=1')).text).toBe('render 3 page 1');
    expect((await page.http().get('/list')).headers['x-cache']).toBe('HIT');
    expect(page.renders).toBe(3);
    expect(page.view.makeCacheKey(page.contextFor('/list?b=1&page=2&a=3'))).toBe(viewKey('', '/list', 'page=2', { queryString: true }));
  });

  it('uses makeCacheKey when given, and exposes the key it builds', async () => {
    setup({ makeCacheKey: (ctx) => `custom:${ctx.get('X-Lang') || 'en'}` });
    await page.http().get('/x').set('X-Lang', 'fr');
    const other = await page.http().get('/y').set('X-Lang', 'fr');
    expect(other.headers['x-cache']).toBe('HIT');
    expect(await page.cache.has('custom:fr')).toBe(true);
    expect(page.view.makeCacheKey(page.contextFor('/z', { 'x-lang': 'de' }))).toBe('custom:de');
  });
});

describe('cacheView() tags, forced updates and fail-open', () => {
  it('misses after one of the page tags is invalidated', async () => {
    setup({ tags: (ctx) => ['posts', `path:${ctx.path}`] });
    await page.http().get('/page');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
    await page.cache.invalidateTags(['posts']);
    const after = await page.http().get('/page');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.text).toBe('<p>render 2 of /page</p>');
    await page.cache.invalidateTags(['other']);
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
  });

  it('re-renders and overwrites the entry when forcedUpdate() says so', async () => {
    setup({ forcedUpdate: (ctx) => ctx.get('X-Force') === '1' });
    await page.http().get('/page');
    const forced = await page.http().get('/page').set('X-Force', '1');
    expect(forced.headers['x-cache']).toBe('MISS');
    const hit = await page.http().get('/page');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('<p>render 2 of /page</p>');
  });

  it('keeps serving pages (uncached) while the backend fails', async () => {
    setup();
    page.backend.failing = true;
    const first = await page.http().get('/page');
    const second = await page.http().get('/page');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers['x-cache']).toBe('MISS');
    expect(page.renders).toBe(2);
    page.backend.failing = false;
    await page.http().get('/page');
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
  });

  it('expires the page after its timeout', async () => {
    setup({ timeout: 30 });
    await page.http().get('/page');
    page.clock.advance(29_000);
    expect((await page.http().get('/page')).headers['x-cache']).toBe('HIT');
    page.clock.advance(1_000);
    expect((await page.http().get('/page')).headers['x-cache']).toBe('MISS');
  });
});

describe('cacheView() options', () => {
  const cache = new PageApp().cache;

  it.each([
    [{ timeout: -1 }, /timeout/],
    [{ timeout: Number.NaN }, /timeout/],
    [{ keyPrefix: 'a', makeCacheKey: () => 'k' }, /keyPrefix.*makeCacheKey/],
    [{ staleWhileRevalidate: 10, timeout: 0 }, /timeout above 0/],
    [{ staleIfError: -5 }, /staleIfError/],
    [{ staleWhileRevalidate: 10 }, /staleWhileRevalidate needs `render`/],
  ])('refuses %o at start-up', (options, message) => {
    expect(() => cacheView({ cache, ...options })).toThrow(message);
  });

  it.each([['page'], [['']], [[1]], [[null]]])('refuses queryString %o at start-up', (queryString) => {
    expect(() => Reflect.apply(cacheView, undefined, [{ cache, queryString }])).toThrow(/queryString/);
  });

  it('refuses a render that is not a function', () => {
    expect(() => Reflect.apply(cacheView, undefined, [{ cache, render: 'handler' }])).toThrow(/render/);
  });

  it('refuses a missing cache', () => {
    expect(() => Reflect.apply(cacheView, undefined, [{ cache: undefined }])).toThrow(/cache/);
  });

  it('returns a named middleware', () => {
    expect(cacheView({ cache }).name).toBe('cacheView');
    expect(createPageCache({ cache }).view({}).name).toBe('cacheView');
  });

  it('refuses a page cache without a cache, or early answers without `eligible`, at start-up', () => {
    expect(() => Reflect.apply(createPageCache, undefined, [{}])).toThrow(/cache/);
    expect(() => Reflect.apply(createPageCache, undefined, [{ cache, earlyAnswers: {} }])).toThrow(/eligible/);
  });
});
