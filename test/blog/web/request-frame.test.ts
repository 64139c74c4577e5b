import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY } from '../../../src/blog/web/security-headers.ts';
import { SESSION_COOKIE } from '../../../src/blog/web/session.ts';
import type { PreparedPages } from '../../../src/cache/koa/page-cache/prepared-pages.ts';
import { csrfFrom, login, loginRaw, startTestApp, type TestApp } from '../../support/app.ts';

// The blog's request frame (src/app.ts): the security headers and the personal rule of every
// response, the page cache's early answers, metrics and the dev toolbar, in one outermost middleware.

/** The pages prepared for early answers by a test app. */
function preparedOf(t: TestApp): PreparedPages {
  const prepared = t.app.context.services.caching.pageCache.prepared;
  if (!prepared) throw new Error('the blog answers nothing early');
  return prepared;
}

/** A response's headers, except those that differ between any two responses (date, connection, the request id). */
function headersOf(res: supertest.Response, without: readonly string[] = []): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (!['date', 'connection', 'keep-alive', 'x-request-id', ...without].includes(name)) kept[name] = value;
  }
  return kept;
}

function expectSecurityHeaders(res: supertest.Response): void {
  expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
}

describe('the request frame of the blog', () => {
  let t: TestApp;
  let front: PreparedPages;
  let postId: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
    postId = (await t.addPost({ title: 'First title' })).id;
    front = preparedOf(t);
  });
  afterAll(() => t.close());

  it('is the first middleware: nothing runs outside it', () => {
    expect(t.app.middleware[0].name).toBe('requestFrame');
  });

  it("answers a reader's repeated page with the response the chain gives, security headers included", async () => {
    await t.request().get('/').expect(200);
    const before = front.answered;
    // A session cookie that is not valid: the chain answers, as a reader's HIT.
    const chain = await t.request().get('/').set('Cookie', `${SESSION_COOKIE}=forged`).expect(200);
    expect(front.answered).toBe(before);
    const fast = await t.request().get('/').expect(200);
    expect(front.answered).toBe(before + 1);
    expect([chain.headers['x-cache'], fast.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect(fast.text).toBe(chain.text);
    for (const name of [...Object.keys(SECURITY_HEADERS), 'ETag', 'Content-Type', 'Content-Length']) {
      const lower = name.toLowerCase();
      expect([lower, fast.headers[lower]]).toEqual([lower, chain.headers[lower]]);
    }
    expect(fast.headers['set-cookie']).toBeUndefined();
  });

  it('gives one URL the same headers answered four ways: chain MISS, chain HIT, early HIT, early 304', async () => {
    const before = front.answered;
    const miss = await t.request().get('/category/general').expect(200);
    const chainHit = await t.request().get('/category/general').set('Cookie', `${SESSION_COOKIE}=forged`).expect(200);
    const earlyHit = await t.request().get('/category/general').expect(200);
    const early304 = await t.request().get('/category/general').set('If-None-Match', String(earlyHit.headers.etag)).expect(304);
    expect([miss, chainHit, earlyHit, early304].map((res) => res.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT', 'HIT']);
    expect(front.answered).toBe(before + 2);
    // Each answer has its own request id, early ones too.
    expect(new Set([miss, chainHit, earlyHit, early304].map((res) => res.headers['x-request-id'])).size).toBe(4);
    const page = headersOf(miss, ['x-cache']);
    expect(headersOf(chainHit, ['x-cache'])).toEqual(page);
    expect(headersOf(earlyHit, ['x-cache'])).toEqual(page);
    // Supertest asks for gzip: every 200 is the stored gzip form; a 304 names no coding (its ETag is the gzip form's).
    expect(page['content-encoding']).toBe('gzip');
    expect(headersOf(early304, ['x-cache'])).toEqual(headersOf(miss, ['x-cache', 'content-type', 'content-length', 'content-encoding']));
  });

  it("never answers the author, and readers see the author's edit on their very next request", async () => {
    await t.request().get('/').expect(200);
    const author = t.request();
    await login(author);
    const answered = front.answered;
    const mine = await author.get('/').expect(200);
    expect(mine.headers['x-cache']).toBe('BYPASS');
    expect(front.answered).toBe(answered);

    const form = await author.get(`/admin/posts/${postId}/edit`).expect(200);
    const version = /name="version" value="(\d+)"/.exec(form.text)?.[1] ?? '1';
    await author
      .post(`/admin/posts/${postId}`)
      .type('form')
      .send({ _csrf: csrfFrom(form.text), title: 'Second title', body: 'Edited body', category: 'general', published: 'on', version })
      .expect(303);
    const reader = await t.request().get('/').expect(200);
    expect(reader.text).toContain('Second title');
    expect(reader.text).not.toContain('First title');
    expect(reader.headers['x-cache']).toBe('MISS');
  });

  it('counts early answers in /metrics like any request', async () => {
    const answered = front.answered;
    await t.request().get('/about').expect(200);
    await t.request().get('/about').expect(200);
    expect(front.answered).toBe(answered + 1);
    const metrics = await t.request().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\/about",status="200"\} 2\b/);
  });
});

describe('the request frame with the dev toolbar on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
    await t.addPost({ title: 'Public post' });
  });
  afterAll(() => t.close());

  it('answers a repeated page early, with the bar, no ETag and Cache-Control: no-store', async () => {
    const developer = t.request();
    const first = await developer.get('/about').expect(200);
    expect([first.headers['x-cache'], first.text.includes('id="kiln-toolbar"')]).toEqual(['MISS', true]);
    const front = preparedOf(t);
    const answered = front.answered;
    const again = await developer.get('/about').expect(200);
    expect(front.answered).toBe(answered + 1);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.text).toContain('id="kiln-toolbar"');
    expect(again.text).toContain('data-page-cache="HIT"');
    expect(again.text).toContain('<span class="kiln-tb-reason">served from a fresh stored page before the app ran</span>');
    expect(again.headers.etag).toBeUndefined();
    expect(again.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(again);
    const record = await developer.get(`/_toolbar/${String(again.headers['x-kiln-toolbar-id'])}`).expect(200);
    expect(record.body.request).toMatchObject({ route: '/about', status: 200, pageCache: 'HIT', pageCacheReason: 'early-fresh' });
  });

  it('writes the early answer directly for a request the toolbar does not inspect', async () => {
    const front = preparedOf(t);
    const answered = front.answered;
    const other = await t.request().get('/').set('Host', 'elsewhere.example').expect(200);
    await t.request().get('/').set('Host', 'elsewhere.example').expect(200);
    const direct = await t.request().get('/').set('Host', 'elsewhere.example').expect(200);
    expect(front.answered).toBe(answered + 2);
    expect(direct.text).toBe(other.text);
    expect(direct.text).not.toContain('kiln-toolbar');
    expect(direct.headers.etag).toMatch(/^"/);
    expect(direct.headers['x-kiln-toolbar-id']).toBeUndefined();
  });
});

const PUBLIC_PATHS = (postId: number) => [
  '/',
  '/?page=1',
  `/posts/${postId}`,
  '/category/news',
  '/about',
  '/feed.xml',
  '/api/v1/posts',
  `/api/v1/posts/${postId}`,
  '/static/css/site.css',
  '/posts/999999',
  '/no-such-page',
  '/api/v1/nothing',
];

describe('the security headers', () => {
  let t: TestApp;
  let postId: number;

  beforeAll(async () => {
    t = await startTestApp();
    postId = (await t.addPost({ title: 'Hello', category: 'news' })).id;
  });
  afterAll(() => t.close());

  it('forbid inline scripts and framing (the Content-Security-Policy)', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
  });

  it('are on anonymous GETs of public pages, which never receive a Set-Cookie', async () => {
    for (const path of PUBLIC_PATHS(postId)) {
      const res = await supertest(t.server).get(path);
      expect(res.headers['set-cookie'], path).toBeUndefined();
      expect(res.headers['cache-control'] ?? '', path).not.toContain('private');
      expectSecurityHeaders(res);
    }
  });

  it('come without a Set-Cookie even with a stale or forged session cookie', async () => {
    const { cookie, csrf } = await loginRaw(t);
    await supertest(t.server).post('/logout').set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303);
    for (const sent of [cookie, 'kiln.sid=forged; kiln.sid.sig=forged', 'kiln.sid=x']) {
      for (const path of PUBLIC_PATHS(postId)) {
        const res = await supertest(t.server).get(path).set('Cookie', sent);
        expect(res.headers['set-cookie'], `${path} with ${sent}`).toBeUndefined();
      }
    }
  });

  it('go with Cache-Control: private, no-store on every page for the signed-in author, public pages included', async () => {
    const agent = t.request();
    await login(agent);
    for (const path of ['/admin', '/admin/posts/new', `/admin/posts/${postId}/edit`, '/', `/posts/${postId}`, '/about']) {
      const res = await agent.get(path).expect(200);
      expect(res.headers['cache-control'], path).toBe('private, no-store');
      expectSecurityHeaders(res);
    }
  });

  it('go with pages that do not include the author-only markup for readers', async () => {
    const reader = await supertest(t.server).get('/').expect(200);
    expect(reader.text).not.toContain('Log out');
    expect(reader.text).not.toContain('_csrf');
    const agent = t.request();
    await login(agent);
    const own = await agent.get('/').expect(200);
    expect(own.text).toContain('Log out (author)');
  });
});

describe('Strict-Transport-Security', () => {
  // Every kind of response: pages (a MISS, then a HIT answered early before the chain, then a
  // 304 of it), the feed, a static file, a 404, an API error and a path in another spelling.
  const paths = ['/', '/', '/feed.xml', '/static/css/site.css', '/no-such-page', '/api/v1/nothing', '/about/'];

  async function headersOfSite(siteUrl: string): Promise<{ hsts: (string | undefined)[]; xCache: string[]; answered: number; notModified: string | undefined }> {
    const app = await startTestApp({ env: { SITE_URL: siteUrl, CACHE_TYPE: 'memory' } });
    try {
      await app.addPost({ title: 'Hello' });
      const front = preparedOf(app);
      const before = front.answered;
      const responses = [];
      for (const path of paths) responses.push(await supertest(app.server).get(path));
      const etag = responses[1].headers.etag ?? '';
      const cached = await supertest(app.server).get('/').set('If-None-Match', etag).expect(304);
      return {
        hsts: responses.map((res) => res.headers['strict-transport-security']),
        xCache: responses.slice(0, 2).map((res) => String(res.headers['x-cache'])),
        answered: front.answered - before,
        notModified: cached.headers['strict-transport-security'],
      };
    } finally {
      await app.close();
    }
  }

  it('is on every response of an https site, early answers included', async () => {
    const seen = await headersOfSite('https://kiln.test');
    expect(seen.xCache).toEqual(['MISS', 'HIT']);
    expect(seen.answered).toBe(2); // the HIT and the 304 never reached the chain
    expect(seen.hsts).toEqual(paths.map(() => STRICT_TRANSPORT_SECURITY));
    expect(seen.notModified).toBe(STRICT_TRANSPORT_SECURITY);
    expect(STRICT_TRANSPORT_SECURITY).toBe('max-age=31536000; includeSubDomains');
  });

  it('is never sent by an http site', async () => {
    const seen = await headersOfSite('http://kiln.test');
    expect(seen.xCache).toEqual(['MISS', 'HIT']);
    expect(seen.answered).toBe(2);
    expect(seen.hsts).toEqual(paths.map(() => undefined));
    expect(seen.notModified).toBeUndefined();
  });
});
