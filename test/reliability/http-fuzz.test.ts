import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { AUTHOR, csrfFrom, loginForm, postLogin, sessionCookie, startTestApp, type TestApp } from '../support/app.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { closeApp, seedBlog } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { auditStored, cacheOf, recordWrites, storedValues } from './stored.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const AUTHOR_NAME = 'fuzz-author-xq7';

const backends = await pageCacheBackends({ scratch });

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const encoded = fc.string({ maxLength: 10 }).map((s) => encodeURIComponent(s));

const segment = fc.oneof(
  fc.constantFrom(
    '', 'posts', 'category', 'about', 'feed.xml', 'api', 'v1', 'admin', 'login', 'logout', 'static', 'css', 'site.css', 'preview', 'edit',
    'delete', 'new', '1', '2', '3', '0', '-1', '007', '999999999999999999', '1e3', 'news', 'koa', 'cache', '..', '.', '%2e%2e', '%2F', '%00',
    '%zz', '%', '%C3%BC', ';', 'x.css', 'healthz', 'metrics', '_toolbar', 'index.html',
  ),
  encoded,
  fc.integer({ min: -5, max: 30 }).map(String),
);
const id = fc.oneof(fc.integer({ min: 1, max: 14 }).map(String), segment);
const realRoute = fc.oneof(
  fc.constantFrom('/', '/about', '/feed.xml', '/api/v1/posts', '/category/news', '/category/koa', '/admin', '/admin/posts/new', '/login', '/healthz'),
  id.map((n) => `/posts/${n}`),
  id.map((n) => `/api/v1/posts/${n}`),
  id.map((n) => `/admin/posts/${n}/edit`),
  id.map((n) => `/admin/posts/${n}`),
);
const path = fc.oneof(
  { weight: 3, arbitrary: realRoute },
  fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
  fc.tuple(fc.constantFrom('/posts/', '/api/v1/posts/', '/category/', '/admin/posts/', '/admin/posts/1/', '/api/v1/'), segment).map(([a, b]) => a + b),
);
const query = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.tuple(fc.constantFrom('page', 'category', 'page[]', 'x'), fc.oneof(printable, fc.constantFrom('1', '2', '0', '-1', 'news', '99999'))).map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
          fc.constantFrom('&', '=', '%', '%zz', 'a=b=c', '+', ';'),
        ),
        { maxLength: 4 },
      )
      .map((parts) => parts.join('&')),
  },
);
const headers = fc.dictionary(
  fc.constantFrom(
    'Accept', 'Accept-Encoding', 'Accept-Language', 'If-None-Match', 'If-Modified-Since', 'Range', 'X-Forwarded-For', 'X-Forwarded-Host',
    'X-Forwarded-Proto', 'Origin', 'Referer', 'X-CSRF-Token', 'Authorization', 'X-HTTP-Method-Override', 'User-Agent', 'Cache-Control', 'Pragma',
  ),
  fc.oneof(printable, fc.constantFrom('*', 'null', 'gzip', 'application/json', 'http://kiln.test', 'https://evil.example', 'bytes=0-1', '"x"')),
  { maxKeys: 4 },
);
const FIELDS = ['title', 'body', 'category', 'published', 'version', '_csrf', 'username', 'password', 'markdown', 'bypass'];
const body = fc.oneof(
  fc.record({ kind: fc.constant('form' as const), fields: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), printable), fc.oneof(printable, fc.constantFrom('on', '1', 'news', 'x'.repeat(300))), { maxKeys: 6 }) }),
  fc.record({ kind: fc.constant('json' as const), text: fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.constantFrom('{', '{"markdown":', '[1,', 'null', '"x"', '{"markdown":"**x**","bypass":"yes"}')) }),
  fc.record({ kind: fc.constant('raw' as const), type: fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=utf-16'), text: printable }),
);
const request = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') }),
  path,
  query,
  headers,
  cookie: fc.oneof({ weight: 3, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('author', 'author+token', 'forged', 'junk') }),
  body,
});

describe.each(backends)('HTTP fuzzing on $name', (backend) => {
  let t: TestApp;
  let session: { cookie: string; csrf: string };
  let written: Set<string>;

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: { ...backend.env(), AUTHOR_USERNAME: AUTHOR_NAME } });
    written = recordWrites(cacheOf(t));
    await seedBlog(t, 12);
    const signedIn = await postLogin(t, await loginForm(t), { username: AUTHOR_NAME, password: AUTHOR.password }).expect(303);
    const cookie = sessionCookie(signedIn);
    const admin = await supertest(t.server).get('/admin').set('Cookie', cookie).expect(200);
    session = { cookie, csrf: csrfFrom(admin.text) };
  });
  afterAll(async () => {
    if (!backend.skip) await closeApp(t);
  });

  it.skipIf(backend.skip)('answers no request with a 5xx, replays only 200s, and stores no error page or cookie', async () => {
    const statuses: Record<string, number> = {};
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const asAuthor = r.cookie === 'author' || r.cookie === 'author+token';
        // The session is kept for the whole run: the fuzzer may not log it out.
        const target = asAuthor && r.path.replace(/\/+$/, '') === '/logout' ? '/about' : r.path;
        const url = r.query === '' ? target : `${target}?${r.query}`;
        const method = r.method.toLowerCase() as 'get' | 'head' | 'post' | 'put' | 'delete' | 'patch' | 'options';
        let req = t.request()[method](url).timeout(10_000).set(r.headers);
        const cookie = { none: '', author: session.cookie, 'author+token': session.cookie, forged: 'kiln.sid=forged.AAAA', junk: '=;; kiln.login=%%; a' }[r.cookie];
        if (cookie) req = req.set('Cookie', cookie);
        if (r.cookie === 'author+token') req = req.set('X-CSRF-Token', session.csrf);
        if (['post', 'put', 'delete', 'patch'].includes(method)) {
          if (r.body.kind === 'form') req = req.type('form').send(r.body.fields);
          else if (r.body.kind === 'json') req = req.set('Content-Type', 'application/json').send(r.body.text);
          else req = req.set('Content-Type', r.body.type).send(r.body.text);
        }
        const res = await req.ok(() => true);
        requests += 1;
        statuses[String(res.status)] = (statuses[String(res.status)] ?? 0) + 1;
        expect(res.status, `${r.method} ${url}`).toBeLessThan(500);
        if (res.headers['x-cache'] === 'HIT' || res.headers['x-cache'] === 'STALE') expect([200, 304], `${r.method} ${url}`).toContain(res.status);
        if (!asAuthor && res.headers['x-cache'] !== undefined) expect(res.headers['set-cookie'], `${r.method} ${url}`).toBeUndefined();
      }),
      { numRuns: scaled(200, 3000) },
    );
    const audit = auditStored(await storedValues(t, written), [AUTHOR_NAME, session.csrf]);
    recordFigures(`HTTP fuzzing, ${backend.name}`, { requests, statuses, storedEntries: audit.entries, storedPages: audit.pages, badEntries: audit.problems.length });
    expect(audit.problems).toEqual([]);
    expect(audit.pages).toBeGreaterThan(0);
  }, scaled(120_000, 1_200_000));
});
