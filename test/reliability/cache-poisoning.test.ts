import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTestApp, type TestApp } from '../support/app.ts';
import { closeApp, seedBlog, type SeededBlog } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { rawRequest } from './raw-http.ts';
import { cacheOf } from './stored.ts';

/**
 * Request headers the pages do not vary on. Each is sent on the request that fills the cache;
 * the page then stored must be byte for byte the page a plain request renders.
 */
const POISON: Record<string, string>[] = [
  { 'X-Forwarded-Host': 'evil.example' },
  { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Port': '444', 'X-Forwarded-Prefix': '/evil' },
  { Forwarded: 'for=6.6.6.6;host=evil.example;proto=https', 'X-Forwarded-For': '6.6.6.6' },
  { Host: 'evil.example' },
  { Host: 'kiln.test:99999' },
  { Host: 'evil.example:80@kiln.test' },
  { 'X-Original-URL': '/admin', 'X-Rewrite-URL': '/admin/posts/new' },
  { 'X-HTTP-Method-Override': 'POST', 'X-HTTP-Method': 'DELETE', 'X-Method-Override': 'PUT' },
  { Accept: 'application/json' },
  { Accept: 'text/plain', 'Accept-Language': 'xx-EVIL', 'Accept-Charset': 'utf-7' },
  { 'Accept-Encoding': 'gzip, deflate, br' },
  { 'If-None-Match': '*' },
  { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT', 'Cache-Control': 'no-cache', Pragma: 'no-cache' },
  { Range: 'bytes=0-10' },
  { Cookie: 'kiln.sid=forged.sig; kiln.login=forged; theme=<b>' },
  { 'User-Agent': '<script>alert(1)</script>', Referer: 'https://evil.example/', Origin: 'https://evil.example' },
  { Authorization: 'Bearer not-a-token' },
  { 'X-Giant': 'g'.repeat(12_000) },
  { 'Content-Type': 'application/json', 'Content-Length': '0' },
];

/** Requests no client library would send, each followed by a clean read that must be unharmed. */
function malformed(host: string, path: string): string[] {
  return [
    `GET ${path} HTTP/1.1\r\nHost: evil.example\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Bad: a\u0001b\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Folded: a\r\n  folded: evil\r\nConnection: close\r\n\r\n`,
    `GET http://evil.example${path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Huge: ${'h'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 41\r\n\r\nGET /admin HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    `GET ${path}\u0000evil HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.0\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\n\r\n`,
  ];
}

function port(t: TestApp): number {
  const address = t.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe.each([{ trustProxy: '0' }, { trustProxy: '1' }])('cache poisoning (TRUST_PROXY=$trustProxy)', ({ trustProxy }) => {
  let t: TestApp;
  let blog: SeededBlog;
  let routes: string[];
  /** The clean render of each route: its body and content type. */
  const reference = new Map<string, { body: string; type: string }>();

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', TRUST_PROXY: trustProxy } });
    blog = await seedBlog(t, 12);
    const id = blog.ids[4];
    const all = ['/', '/?page=2', `/posts/${id}`, '/category/news', '/about', '/feed.xml', '/api/v1/posts', '/api/v1/posts?category=koa', `/api/v1/posts/${id}`];
    // CI: one page of each kind (HTML list, post, feed, JSON); KILN_FULL=1: all of them.
    routes = scaled(['/', `/posts/${id}`, '/about', '/feed.xml', '/api/v1/posts', `/api/v1/posts/${id}`], all);
    for (const route of routes) {
      await cacheOf(t).clear();
      const res = await t.request().get(route).expect(200);
      reference.set(route, { body: res.text, type: String(res.headers['content-type']) });
    }
  });
  afterAll(() => closeApp(t));

  /** A plain read must be the reference page; the second plain read comes from the cache. */
  async function expectClean(route: string, what: string): Promise<void> {
    const ref = reference.get(route);
    for (let i = 0; i < 2; i++) {
      const res = await t.request().get(route).expect(200);
      expect(res.text === ref?.body, `${route} after ${what}: the page differs from a clean render`).toBe(true);
      expect(res.headers['content-type'], `${route} after ${what}`).toBe(ref?.type);
      expect(res.headers['set-cookie'], `${route} after ${what}`).toBeUndefined();
    }
  }

  it('stores the clean page whatever headers the filling request carried', async () => {
    // Behind a trusted proxy only the forwarded and Host headers mean anything new.
    const sets = trustProxy === '1' ? POISON.slice(0, 6) : POISON;
    for (const headers of sets) {
      for (const route of routes) {
        await cacheOf(t).clear();
        const poisoned = await t.request().get(route).set(headers);
        expect(poisoned.status, `${route} with ${Object.keys(headers).join(', ')}`).toBeLessThan(500);
        await expectClean(route, JSON.stringify(headers).slice(0, 80));
      }
    }
    recordFigures(`cache poisoning by headers, TRUST_PROXY=${trustProxy}`, { headerSets: sets.length, routes: routes.length, poisonedFills: sets.length * routes.length, storedPagesDifferingFromCleanRender: 0 });
  }, 120_000);

  it('stores the clean page after malformed and smuggling requests', async () => {
    const statuses: Record<string, number> = {};
    for (const route of ['/', '/about', `/posts/${blog.ids[4]}`]) {
      for (const bytes of malformed(`127.0.0.1:${port(t)}`, route)) {
        await cacheOf(t).clear();
        const res = await rawRequest(port(t), bytes);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        expect(res.status, `${JSON.stringify(bytes.slice(0, 60))}: ${res.text.slice(0, 60)}`).toBeLessThan(500);
        await expectClean(route, JSON.stringify(bytes.slice(0, 60)));
      }
    }
    recordFigures(`cache poisoning by malformed requests, TRUST_PROXY=${trustProxy}`, { rawRequests: 30, statuses, storedPagesDifferingFromCleanRender: 0 });
  }, 60_000);

  it('never answers a POST or a method override from the cache', async () => {
    await cacheOf(t).clear();
    await t.request().get('/about').expect(200);
    const post = await t.request().post('/about').set('X-HTTP-Method-Override', 'GET').type('form').send({});
    expect(post.status).toBe(403);
    expect(post.headers['x-cache']).toBeUndefined();
    await expectClean('/about', 'POST with a method override');
  });
});

describe('cache deception', () => {
  let t: TestApp;
  let blog: SeededBlog;
  let author: supertest.Agent;
  let draftId: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', AUTHOR_USERNAME: 'zq-deception-author' } });
    blog = await seedBlog(t, 12);
    draftId = (await t.addPost({ title: 'Secret draft zq', body: 'Unpublished zq text', published: false })).id;
    author = t.request();
    await login(author, { username: 'zq-deception-author', password: 'correct horse battery staple' });
  });
  afterAll(() => closeApp(t));

  /** Paths a cache keyed on extensions or normalized paths might mistake for public files. */
  function oddPaths(): string[] {
    const id = blog.ids[3];
    return [
      '/about.css', '/about%2F', '/about/', '/about/x.css', '/about;.css', '/about%3B.css', '/ABOUT', '//about', '/./about', '/%2e/about',
      `/posts/${id}.css`, `/posts/${id};x`, `/posts/${id}/..`, `/posts/${id}/`, `/posts/${id}%2f`, `/posts/${id}%00`, `/posts/${id}/x.js`,
      `/posts/${id}?x=y.css`, `/posts/${draftId}`, `/posts/${draftId}.css`, `/posts/${draftId}/`, `/posts/${draftId};.png`,
      '/category/news/x.js', '/category/news.css', '/?page=1.css', '/?x=.css', '/index.html', '/feed.xml/x.css', '/feed.xml;.css',
      `/api/v1/posts/${id}.json`, `/api/v1/posts/${id}/x.css`, `/api/v1/posts/${draftId}`, '/admin.css', '/admin/x.css', '/admin;.css',
      `/static/../posts/${id}`, `/static/..%2fposts/${id}`, '/static/css/site.css/../../admin',
    ];
  }

  it('never stores a page for the signed-in author, whatever the path looks like', async () => {
    const stored: string[] = [];
    const onOp = (event: { op: string; result: string; origin: string; key: string }) => {
      if (event.origin === 'view' && (event.op === 'set' || event.op === 'add') && event.result === 'set') stored.push(event.key);
    };
    cacheOf(t).events.on('op', onOp);
    try {
      for (const path of [...oddPaths(), ...blog.paths]) {
        for (const accept of scaled(['text/css'], ['text/html', 'text/css', '*/*'])) {
          const res = await author.get(path).set('Accept', accept);
          expect(res.status, path).toBeLessThan(500);
        }
        await author.head(path);
      }
    } finally {
      cacheOf(t).events.off('op', onOp);
    }
    recordFigures('cache deception (signed-in author, odd paths)', { paths: oddPaths().length + blog.paths.length, pageEntriesStored: stored.length });
    expect(stored, 'page entries stored by the author').toEqual([]);
  }, 60_000);

  it('shows anonymous readers of those paths no author markup afterwards', async () => {
    for (const path of [...oddPaths(), ...blog.paths]) {
      for (let i = 0; i < 2; i++) {
        const res = await t.request().get(path);
        expect(res.status, path).toBeLessThan(500);
        for (const secret of ['zq-deception-author', 'action="/logout"', 'name="_csrf"', 'Secret draft zq', 'Unpublished zq text', '/edit"', 'Draft: only you']) {
          expect(res.text.includes(secret), `${path} shows ${secret}`).toBe(false);
        }
        expect(res.headers['set-cookie'], path).toBeUndefined();
      }
    }
  }, 60_000);
});
