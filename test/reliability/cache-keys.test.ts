import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalQuery, keyedQuery, MAX_KEY_LENGTH } from '../../src/cache/keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { closeApp, seedBlog, type SeededBlog } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { cacheOf } from './stored.ts';

// Key construction itself (injective, order-insensitive queries, bounded, printable) has its
// property tests in test/cache/keys.test.ts; these drive the real app and look at the keys and
// pages it actually stores.

const PRINTABLE = /^[\x21-\x7e]+$/;

interface Op {
  op: string;
  key: string;
  result: string;
  origin: string;
  detail?: string;
  bytes?: number;
}

let t: TestApp;
let blog: SeededBlog;
const ops: Op[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: { CACHE_TYPE: 'memory', CACHE_THRESHOLD: '100000' } });
  blog = await seedBlog(t, 25);
  cacheOf(t).events.on('op', (event: Op) => ops.push(event));
});
afterAll(() => closeApp(t));

/** Query pieces: the parameters the pages read, with odd values, and raw junk. */
const queryPiece = fc.oneof(
  fc.tuple(fc.constantFrom('page', 'category', 'Page', 'page[]', 'utm_source', 'x'), fc.constantFrom('1', '2', '3', '0', '-1', '01', '1e1', '', 'news', 'koa', 'NEWS', '%', '%zz', '..%2F', '\u00e9')).map(
    ([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
  ),
  fc.string({ maxLength: 12 }).map((s) => `${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
  fc.constantFrom('', '&', '&&', '=', 'a=b=c', ';', '%', '%zz', '+', 'page', 'page=1;page=2', '%00=1'),
);
const query = fc.array(queryPiece, { maxLength: 5 }).map((pieces) => pieces.join('&'));
const suffix = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('/', '.css', '%2F', ';x', '/..', '%20', 'x', '0') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => encodeURIComponent(s)) },
);

/** The query parameters the page at `route` reads (src/blog/caching.ts), undefined for a page that reads none. */
function readParams(route: string): string[] | undefined {
  if (route === '/api/v1/posts') return ['page', 'category'];
  if (route === '/' || route.startsWith('/category/')) return ['page'];
  return undefined;
}

describe('page keys of the running blog', () => {
  it('are short and printable, never shared by two different requests, and replay the page of their own request', async () => {
    const routes = ['/', '/about', '/feed.xml', '/api/v1/posts', ...blog.categories.map((c) => `/category/${c}`), `/posts/${blog.ids[3]}`, `/api/v1/posts/${blog.ids[7]}`];
    /** Stored page key → the (path, canonical query) that stored it. */
    const owner = new Map<string, string>();
    /** (path, canonical query) → the first body served for it. */
    const bodies = new Map<string, string>();
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), suffix, query, async (route, tail, q) => {
        ops.length = 0;
        const url = `${route}${tail}${q === '' ? '' : `?${q}`}`;
        const res = await t.request().get(url);
        requests += 1;
        expect(res.status, url).toBeLessThan(500);
        for (const op of ops) {
          expect(op.key, url).toMatch(PRINTABLE);
          expect(op.key.length, url).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        }
        const stored = ops.filter((op) => op.origin === 'view' && op.op === 'set' && op.result === 'set' && op.key.startsWith('view|'));
        const read = readParams(route);
        // A page that reads its query is the page of the parameters it reads; any other is junk.
        const kept = read === undefined ? canonicalQuery(q) : keyedQuery(q, read);
        for (const op of stored) {
          const identity = `${op.detail} ? ${kept}`;
          const previous = owner.get(op.key);
          expect(previous === undefined || previous === identity, `${op.key} stored by ${previous} and by ${identity}`).toBe(true);
          owner.set(op.key, identity);
        }
        if (res.status === 200) {
          const identity = `${url.split('?')[0]} ? ${kept}`;
          const first = bodies.get(identity);
          if (first === undefined) bodies.set(identity, res.text);
          else expect(res.text === first, `${url} served a different page than before (${res.headers['x-cache']})`).toBe(true);
        }
      }),
      { numRuns: scaled(300, 3000) },
    );
    recordFigures('page keys under random paths and queries', { requests, storedPageKeys: owner.size, distinctRequests: bodies.size });
    expect(owner.size).toBeGreaterThan(5);
  }, 120_000);
});

describe('a huge query string', () => {
  it('of 100 KB is refused by Node (431) before the app, touches no cache entry, and the blog carries on', async () => {
    ops.length = 0;
    const before = await cacheOf(t).stats();
    const res = await t.request().get(`/?q=${'a'.repeat(100 * 1024)}`);
    expect(res.status).toBe(431);
    expect(ops).toEqual([]);
    expect((await cacheOf(t).stats()).backend).toEqual(before.backend);
    await t.request().get('/').expect(200);
  });

  it('just under the header limit is answered from the page of the parameters it carries, with no record of its own', async () => {
    const padded = [
      [`/?pad=${'b'.repeat(14 * 1024)}`, '/'],
      [`/api/v1/posts?category=news&${Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&')}`, '/api/v1/posts?category=news'],
    ];
    for (const [url, clean] of padded) {
      const page = await t.request().get(clean).expect(200);
      ops.length = 0;
      const res = await t.request().get(url).expect(200);
      expect(res.headers['x-cache']).toBe('HIT');
      expect(res.text === page.text, `${url.slice(0, 40)}… is not the page of ${clean}`).toBe(true);
      expect(ops.filter((op) => op.op !== 'get')).toEqual([]);
      for (const op of ops) expect(op.key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    }
  });
});
