import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { sendOnce, type Reply } from '../support/http-once.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { SESSION_COOKIE } from '../../src/blog/web/session.ts';
import { viewKey } from '../../src/cache/index.ts';
import { loadPage } from '../../src/cache/koa/index.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-compression-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const backends = await pageCacheBackends({ scratch: cacheDir, variants: ['memory', 'filesystem', 'redis'] });

/** The bytes a response stands for: its body decoded from its Content-Encoding. */
function decoded(reply: Reply): Buffer {
  const coding = reply.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(reply.bytes);
  if (coding === 'gzip') return gunzipSync(reply.bytes);
  if (coding !== undefined) throw new Error(`unexpected Content-Encoding ${coding}`);
  return reply.bytes;
}

/**
 * Accept-Encoding headers and the coding each must get for a page with both forms; `undefined`
 * sends no header. q=0 refuses a coding (RFC 9110 §12.5.3).
 */
const CASES: readonly { header: string | undefined; coding: 'br' | 'gzip' | 'identity' }[] = [
  { header: 'br, gzip', coding: 'br' },
  { header: 'gzip, deflate, br, zstd', coding: 'br' },
  { header: 'gzip', coding: 'gzip' },
  { header: 'br;q=0, gzip', coding: 'gzip' },
  { header: 'br;q=0.5, gzip', coding: 'gzip' },
  { header: 'gzip;q=0, br', coding: 'br' },
  { header: 'br;q=0, gzip;q=0', coding: 'identity' },
  { header: '*;q=0, identity', coding: 'identity' },
  { header: 'deflate', coding: 'identity' },
  { header: undefined, coding: 'identity' },
];

/** How a request reaches the page: answered early (no cookie), or through the whole chain (a session cookie that names no session). */
const PATHS = [
  { name: 'early answer', headers: {} },
  { name: 'chain', headers: { Cookie: `${SESSION_COOKIE}=unknown` } },
] as const;

describe.each(backends)('compressed pages on $name', (backend) => {
  let t: TestApp;
  let base: string;
  let routes: string[];

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: backend.env() });
    for (let i = 0; i < 12; i++) await t.addPost({ title: `Post number ${i}`, body: `Some text of post ${i}. `.repeat(20), category: 'koa' }, 12 - i);
    base = `http://127.0.0.1:${(t.server.address() as { port: number }).port}`;
    routes = ['/', '/?page=2', '/posts/3', '/category/koa', '/about', '/feed.xml', '/api/v1/posts', '/api/v1/posts/3'];
  });
  afterAll(async () => {
    if (!backend.skip) await t.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => sendOnce(base, path, { headers, method });

  it.skipIf(backend.skip)('decompressing every response of every cached route gives exactly the identity bytes, in the coding asked for', async () => {
    for (const path of routes) {
      const identity = await get(path);
      expect(identity.status, path).toBe(200);
      const compressible = identity.bytes.length >= 1024;
      expect(compressible || path === '/api/v1/posts/3', `${path} is ${identity.bytes.length} bytes`).toBe(true);
      for (const via of PATHS) {
        for (const { header, coding } of CASES) {
          const headers: Record<string, string> = { ...via.headers, ...(header === undefined ? {} : { 'Accept-Encoding': header }) };
          for (const round of [1, 2]) {
            const reply = await get(path, headers);
            const what = `${path} via ${via.name}, Accept-Encoding ${header}, request ${round}`;
            expect(reply.status, what).toBe(200);
            expect(reply.headers['x-cache'], what).toBe('HIT');
            expect(reply.headers['content-encoding'], what).toBe(compressible && coding !== 'identity' ? coding : undefined);
            expect(Number(reply.headers['content-length']), what).toBe(reply.bytes.length);
            expect(decoded(reply).equals(identity.bytes), what).toBe(true);
            if (compressible) expect(reply.headers.vary, what).toMatch(/accept-encoding/i);
          }
        }
      }
    }
  });

  it.skipIf(backend.skip)('gives each encoding its own strong ETag, and answers If-None-Match with 304 per encoding', async () => {
    for (const via of PATHS) {
      const tags = new Map<string, string>();
      for (const coding of ['br', 'gzip', 'identity'] as const) {
        const reply = await get('/', { ...via.headers, 'Accept-Encoding': coding });
        expect(reply.headers.etag).toMatch(/^"[^"]+"$/);
        tags.set(coding, String(reply.headers.etag));
      }
      expect(new Set(tags.values()).size).toBe(3);
      for (const [coding, etag] of tags) {
        const same = await get('/', { ...via.headers, 'Accept-Encoding': coding, 'If-None-Match': etag });
        expect([same.status, same.headers.etag, same.bytes.length], `${coding} via ${via.name}`).toEqual([304, etag, 0]);
        expect(same.headers['content-encoding']).toBeUndefined();
        expect(same.headers.vary).toMatch(/accept-encoding/i);
        // Another coding's tag names other bytes: the full response in the coding asked for.
        const other = coding === 'br' ? 'gzip' : 'br';
        const changed = await get('/', { ...via.headers, 'Accept-Encoding': other, 'If-None-Match': etag });
        expect([changed.status, changed.headers['content-encoding'], changed.headers.etag]).toEqual([200, other, tags.get(other)]);
      }
    }
  });

  it.skipIf(backend.skip)('answers HEAD with the headers of the GET in the same coding, without a body', async () => {
    for (const via of PATHS) {
      for (const coding of ['br', 'gzip', 'identity'] as const) {
        const got = await get('/about', { ...via.headers, 'Accept-Encoding': coding });
        const head = await get('/about', { ...via.headers, 'Accept-Encoding': coding }, 'HEAD');
        const pick = (reply: Reply) => [reply.status, reply.headers['content-encoding'], reply.headers['content-length'], reply.headers.etag, reply.headers.vary];
        expect(pick(head), `${coding} via ${via.name}`).toEqual(pick(got));
        expect(head.bytes.length).toBe(0);
      }
    }
  });

  it.skipIf(backend.skip)('keeps the shared-cache headers on every coding', async () => {
    const kept = ['cache-control', 'xkey', 'surrogate-key', 'content-type'] as const;
    const identity = await get('/posts/3');
    expect(identity.headers.xkey).toContain('post:3');
    for (const coding of ['br', 'gzip']) {
      const reply = await get('/posts/3', { 'Accept-Encoding': coding });
      for (const name of kept) expect(reply.headers[name], `${name} in ${coding}`).toBe(identity.headers[name]);
    }
  });

  it.skipIf(backend.skip)('compresses uncached responses of 1 KB or more on the fly, never small ones or 304s', async () => {
    const login = await get('/login', { 'Accept-Encoding': 'gzip' });
    expect(login.headers['x-cache']).toBeUndefined();
    expect(login.bytes.length).toBeGreaterThan(0);
    const identity = await get('/login');
    expect(identity.bytes.length).toBeGreaterThanOrEqual(1024);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(login.headers['content-encoding']).toBe('gzip');
    expect(login.headers.vary).toMatch(/accept-encoding/i);
    expect(Number(login.headers['content-length'])).toBe(login.bytes.length);
    // The login form carries a token of its own on every render.
    const withoutTokens = (html: string) => html.replace(/value="[^"]*"/g, '');
    expect(withoutTokens(decoded(login).toString('utf8'))).toBe(withoutTokens(identity.text));
    const missing = await get('/posts/999999', { 'Accept-Encoding': 'br' });
    expect([missing.status, missing.headers['content-encoding']]).toEqual([404, 'br']);
    expect(decoded(missing).toString('utf8')).toMatch(/<html/i);
    const health = await get('/healthz', { 'Accept-Encoding': 'br' });
    expect(health.bytes.length).toBeLessThan(1024);
    expect([health.headers['content-encoding'], health.headers.vary]).toEqual([undefined, undefined]);
    const head = await get('/login', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect([head.headers['content-encoding'], head.bytes.length]).toEqual([undefined, 0]);
    expect(head.headers.vary).toMatch(/accept-encoding/i);
  });
});

describe('compressed pages with the dev toolbar on', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
    await t.addPost({ title: 'A post', body: 'Text. '.repeat(200) });
    base = `http://127.0.0.1:${(t.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  it('puts the bar into cached pages and still sends them compressed, the stored page without the bar', async () => {
    for (const [coding, round] of [['br', 'MISS'], ['br', 'HIT'], ['gzip', 'HIT']] as const) {
      const reply = await sendOnce(base, '/', { headers: { 'Accept-Encoding': coding } });
      expect([reply.status, reply.headers['x-cache'], reply.headers['content-encoding']]).toEqual([200, round, coding]);
      expect(reply.headers['cache-control']).toMatch(/no-store/);
      expect(decoded(reply).toString('utf8')).toContain('id="kiln-toolbar"');
    }
    // The bar went into the response only: the stored page and its forms have none.
    const page = await loadPage(t.app.context.services.caching.cache, viewKey('page:index', '/', '', { queryString: ['page'] }));
    expect(page?.body.toString('utf8')).not.toContain('kiln-toolbar');
    expect(page?.forms.map((form) => form.coding)).toEqual(['br', 'gzip']);
    expect(brotliDecompressSync(page?.forms[0].body ?? Buffer.alloc(0)).equals(page?.body ?? Buffer.alloc(1))).toBe(true);
  });
});
