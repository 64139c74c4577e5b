import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  bodyBytes,
  decideHead,
  decideRequest,
  decideStored,
  etagMatches,
  freshness,
  isCacheableMethod,
  isCacheableResponse,
  isKeyedUrl,
  sharedCacheHeaders,
  notStoredOutcome,
  storageTimeout,
  storedHeaders,
  uncacheableReason,
  type ResponseFacts,
} from '../../../src/cache/koa/page-cache/decide.ts';

const ok: ResponseFacts = {
  status: 200,
  headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': 5 },
  body: Buffer.from('hello'),
  replayable: true,
};

describe('isCacheableMethod()', () => {
  it('accepts GET and HEAD only', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'get'].map(isCacheableMethod)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('uncacheableReason()', () => {
  it('accepts a plain 200 with a body', () => {
    expect(uncacheableReason(ok)).toBeUndefined();
    expect(isCacheableResponse(ok)).toBe(true);
  });

  it.each([201, 204, 301, 302, 304, 404, 500, 503])('refuses status %i', (status) => {
    expect(uncacheableReason({ ...ok, status })).toBe('status');
  });

  it('refuses any Set-Cookie', () => {
    expect(uncacheableReason({ ...ok, headers: { ...ok.headers, 'set-cookie': ['a=1'] } })).toBe('set-cookie');
  });

  it.each(['private', 'PRIVATE', 'no-store', 'no-cache', 'public, max-age=0, no-store', 'private="set-cookie"', 'max-age=60 ,private'])(
    'refuses Cache-Control: %s',
    (value) => {
      expect(uncacheableReason({ ...ok, headers: { ...ok.headers, 'cache-control': value } })).toBe('cache-control');
    },
  );

  it.each(['public, max-age=60', 'max-age=600', 'no-transform', 's-maxage=30'])('accepts Cache-Control: %s', (value) => {
    expect(uncacheableReason({ ...ok, headers: { ...ok.headers, 'cache-control': value } })).toBeUndefined();
  });

  it('refuses a Vary on anything but Accept-Encoding', () => {
    const vary = (value: string) => uncacheableReason({ ...ok, headers: { ...ok.headers, vary: value } });
    expect(vary('Accept-Encoding')).toBeUndefined();
    expect(vary('accept-encoding, Accept-Encoding')).toBeUndefined();
    expect(vary('Cookie')).toBe('vary');
    expect(vary('Accept-Encoding, Accept-Language')).toBe('vary');
    expect(vary('*')).toBe('vary');
  });

  it('refuses an encoded body, which a client might not accept', () => {
    expect(uncacheableReason({ ...ok, headers: { ...ok.headers, 'content-encoding': 'gzip' } })).toBe('content-encoding');
    expect(uncacheableReason({ ...ok, headers: { ...ok.headers, 'content-encoding': 'identity' } })).toBeUndefined();
  });

  it('refuses a body it cannot replay and a response written outside Koa', () => {
    expect(uncacheableReason({ ...ok, body: undefined })).toBe('body');
    expect(uncacheableReason({ ...ok, replayable: false })).toBe('not-replayable');
  });
});

describe('bodyBytes()', () => {
  it('gives the bytes Koa would send', () => {
    expect(bodyBytes('héllo')).toEqual(Buffer.from('héllo', 'utf8'));
    const buffer = Buffer.from([0, 255]);
    expect(bodyBytes(buffer)).toBe(buffer);
    expect(bodyBytes({ b: 1, a: [1, 'x'] })?.toString()).toBe('{"b":1,"a":[1,"x"]}');
    expect(bodyBytes([1, 2])?.toString()).toBe('[1,2]');
    expect(bodyBytes(Object.assign(Object.create(null), { a: 1 }))?.toString()).toBe('{"a":1}');
  });

  it('refuses streams, blobs, class instances and empty bodies', () => {
    expect(bodyBytes(Readable.from(['x']))).toBeUndefined();
    expect(bodyBytes(new Blob(['x']))).toBeUndefined();
    expect(bodyBytes(new Map())).toBeUndefined();
    expect(bodyBytes(new Uint8Array([1]))).toBeUndefined();
    expect(bodyBytes(null)).toBeUndefined();
    expect(bodyBytes(undefined)).toBeUndefined();
    expect(bodyBytes(42)).toBeUndefined();
  });
});

describe('storedHeaders()', () => {
  it('keeps only the allow-listed headers, lower-cased, and never Set-Cookie', () => {
    const kept = storedHeaders({
      'Content-Type': 'text/html',
      'content-length': 12,
      'set-cookie': ['a=1', 'b=2'],
      link: ['</a.css>; rel=preload', '</b.js>; rel=preload'],
      'x-request-id': 'abc',
      'content-language': 'en',
      date: 'today',
      etag: '"old"',
      vary: undefined,
    });
    expect(kept).toEqual([
      ['content-type', 'text/html'],
      ['link', ['</a.css>; rel=preload', '</b.js>; rel=preload']],
      ['content-language', 'en'],
    ]);
  });
});

describe('freshness()', () => {
  const windows = { timeout: 60, staleWhileRevalidate: 30, staleIfError: 300 };
  const at = (seconds: number) => freshness(1_000_000, 1_000_000 + seconds * 1000, windows);

  it('classifies an entry by its age', () => {
    expect([at(0), at(59.999), at(60), at(89.999), at(90), at(359.999), at(360)]).toEqual([
      'fresh',
      'fresh',
      'stale-while-revalidate',
      'stale-while-revalidate',
      'stale-if-error',
      'stale-if-error',
      'expired',
    ]);
  });

  it('keeps a no-expiry entry fresh forever', () => {
    expect(freshness(0, 10 ** 12, { timeout: 0, staleWhileRevalidate: 0, staleIfError: 0 })).toBe('fresh');
  });

  it('stores long enough for the longer stale window', () => {
    expect(storageTimeout(windows)).toBe(360);
    expect(storageTimeout({ timeout: 60, staleWhileRevalidate: 0, staleIfError: 0 })).toBe(60);
    expect(storageTimeout({ timeout: 0, staleWhileRevalidate: 0, staleIfError: 0 })).toBe(0);
  });
});

describe('etagMatches()', () => {
  const etag = '"abc"';

  it('matches exact, weak, listed and wildcard validators', () => {
    expect(etagMatches('"abc"', etag)).toBe(true);
    expect(etagMatches('W/"abc"', etag)).toBe(true);
    expect(etagMatches('"x", "abc"', etag)).toBe(true);
    expect(etagMatches('*', etag)).toBe(true);
  });

  it('does not match others or an absent header', () => {
    expect(etagMatches('"abcd"', etag)).toBe(false);
    expect(etagMatches('abc', etag)).toBe(false);
    expect(etagMatches('', etag)).toBe(false);
    expect(etagMatches(undefined, etag)).toBe(false);
  });
});

describe('isKeyedUrl()', () => {
  it('accepts only the path plus exactly the query the key holds', () => {
    const page = ['page'];
    expect(isKeyedUrl('/?page=2', '/', 'page=2', page)).toBe(true);
    expect(isKeyedUrl('/', '/', '', page)).toBe(true);
    for (const [url, query] of [['/?page=2&junk=1', 'page=2&junk=1'], ['/?page=%32', 'page=%32'], ['/?', ''], ['/?junk=1', 'junk=1']]) {
      expect([url, isKeyedUrl(url, '/', query, page)]).toEqual([url, false]);
    }
    expect(isKeyedUrl('/?a=1&b=2', '/', 'a=1&b=2', true)).toBe(true);
    expect(isKeyedUrl('/?b=2&a=1', '/', 'b=2&a=1', true)).toBe(false);
    expect(isKeyedUrl('/about', '/about', '', false)).toBe(true);
  });
});

describe('sharedCacheHeaders()', () => {
  it('lets a shared cache keep the page for its timeout while browsers revalidate, tagged for purges', () => {
    expect(sharedCacheHeaders({ timeout: 1200, staleWhileRevalidate: 0, staleIfError: 0 }, ['lists', 'post:3'])).toEqual({
      'cache-control': 'public, max-age=0, s-maxage=1200',
      xkey: 'lists post:3',
      'surrogate-key': 'lists post:3',
    });
  });

  it('carries the stale windows, and a year for a page that never expires', () => {
    expect(sharedCacheHeaders({ timeout: 60, staleWhileRevalidate: 30, staleIfError: 300 }, undefined)).toEqual({
      'cache-control': 'public, max-age=0, s-maxage=60, stale-while-revalidate=30, stale-if-error=300',
    });
    expect(sharedCacheHeaders({ timeout: 0, staleWhileRevalidate: 0, staleIfError: 0 }, [])['cache-control']).toBe('public, max-age=0, s-maxage=31536000');
    expect(sharedCacheHeaders({ timeout: 0.5, staleWhileRevalidate: 0, staleIfError: 0 }, [])['cache-control']).toBe('public, max-age=0, s-maxage=1');
  });

  it('gives headers a stored page keeps and the store decision accepts', () => {
    const headers = { ...ok.headers, ...sharedCacheHeaders({ timeout: 60, staleWhileRevalidate: 0, staleIfError: 0 }, ['a']) };
    expect(isCacheableResponse({ ...ok, headers })).toBe(true);
    expect(storedHeaders(headers).map(([name]) => name)).toEqual(['content-type', 'cache-control', 'xkey', 'surrogate-key']);
  });
});

describe('decideRequest()', () => {
  /** The facts of a plain GET, with counters of the route's functions. */
  function facts(over: { method?: string; unless?: boolean; unkeyedQuery?: boolean; forced?: boolean } = {}) {
    const calls = { unless: 0, forced: 0 };
    return {
      calls,
      facts: {
        method: over.method ?? 'GET',
        unless: () => (calls.unless += 1) > 0 && over.unless === true,
        unkeyedQuery: over.unkeyedQuery ?? false,
        forced: () => (calls.forced += 1) > 0 && over.forced === true,
      },
    };
  }

  it('bypasses other methods without asking the route', () => {
    const { facts: f, calls } = facts({ method: 'POST', unless: true, forced: true });
    expect(decideRequest(f)).toEqual({ action: 'bypass', reason: 'method' });
    expect(calls).toEqual({ unless: 0, forced: 0 });
  });

  it("bypasses what the route's unless refuses, before looking at the query", () => {
    const { facts: f, calls } = facts({ unless: true, unkeyedQuery: true });
    expect(decideRequest(f)).toEqual({ action: 'bypass', reason: 'unless' });
    expect(calls).toEqual({ unless: 1, forced: 0 });
  });

  it('bypasses a query string the key cannot hold', () => {
    expect(decideRequest(facts({ unkeyedQuery: true }).facts)).toEqual({ action: 'bypass', reason: 'query-string' });
  });

  it('answers HEAD from the stored page without asking for a forced update', () => {
    const { facts: f, calls } = facts({ method: 'HEAD', forced: true });
    expect(decideRequest(f)).toEqual({ action: 'head' });
    expect(calls.forced).toBe(0);
  });

  it('renders afresh when forcedUpdate says so, and looks the page up otherwise', () => {
    expect(decideRequest(facts({ forced: true }).facts)).toEqual({ action: 'revalidate', reason: 'forced' });
    expect(decideRequest(facts().facts)).toEqual({ action: 'lookup' });
  });
});

describe('decideStored()', () => {
  it('serves a fresh page as a HIT', () => {
    expect(decideStored('fresh')).toEqual({ action: 'serve', outcome: { status: 'HIT', reason: 'fresh' } });
  });

  it('serves a page within staleWhileRevalidate as STALE while it is refreshed', () => {
    expect(decideStored('stale-while-revalidate')).toEqual({ action: 'serve-and-revalidate', outcome: { status: 'STALE', reason: 'stale-while-revalidate' } });
  });

  it('renders an older page again, keeping it for a failed render only within staleIfError', () => {
    expect(decideStored('stale-if-error')).toEqual({ action: 'render', reason: 'expired', staleOnError: true });
    expect(decideStored('expired')).toEqual({ action: 'render', reason: 'expired', staleOnError: false });
  });
});

describe('decideHead()', () => {
  it('serves any stored page that can still be served, and leaves the rest to the handler', () => {
    expect(decideHead('fresh')).toEqual({ status: 'HIT', reason: 'fresh' });
    expect(decideHead('stale-while-revalidate')).toEqual({ status: 'STALE', reason: 'stale-while-revalidate' });
    expect(decideHead('stale-if-error')).toEqual({ status: 'STALE', reason: 'stale-if-error' });
    expect(decideHead('expired')).toEqual({ status: 'MISS', reason: 'head-miss' });
    expect(decideHead(undefined)).toEqual({ status: 'MISS', reason: 'head-miss' });
  });
});

describe('notStoredOutcome()', () => {
  it('counts a non-200 as a MISS and every other refusal as a BYPASS, naming why', () => {
    expect(notStoredOutcome('status')).toEqual({ status: 'MISS', reason: 'not-stored:status' });
    expect(notStoredOutcome('set-cookie')).toEqual({ status: 'BYPASS', reason: 'not-stored:set-cookie' });
    expect(notStoredOutcome('filtered')).toEqual({ status: 'BYPASS', reason: 'not-stored:filtered' });
  });
});
