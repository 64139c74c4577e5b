import { keyedQuery } from '../../keys.ts';
import type { Seconds } from '../../types.ts';
import type { StoredHeader } from './stored-page.ts';

/**
 * The page cache's decisions as small pure functions, so each rule is tested on its own:
 * what a request gets before and after the lookup (with the reason the toolbar shows), which
 * responses may be stored, which headers are kept, how fresh an entry is, whether a conditional
 * GET matches, and which URLs may be answered early.
 */

/** What happened to a request on a cached route, as sent in `X-Cache`. */
export type PageCacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'STALE';

/**
 * Why the page cache did what it did:
 * - `early-fresh`: answered before the middleware chain, from a prepared page that is fresh;
 * - `fresh`: a stored page younger than its timeout;
 * - `stale-while-revalidate`: an older page served at once while one background render refreshes it;
 * - `stale-if-error`: the new render failed, so the last good page was served (for HEAD: a page
 *   old enough to be served only that way);
 * - `expired`, `absent`, `forced`: rendered because the stored page was too old, was not there
 *   (or unreadable), or `forcedUpdate` asked for a new one;
 * - `method`, `unless`, `query-string`: bypassed, as not GET/HEAD, by the route's `unless`, or
 *   for a query string the route's key cannot hold;
 * - `head-miss`: HEAD without a usable stored page, answered by the handler and never stored;
 * - `shared-render-not-stored`: another request's render could not be shared, so this one rendered its own;
 * - `not-stored:<why>`: this request rendered, and its response was not stored (see {@link uncacheableReason});
 *   `not-stored:thrown` when the handler threw (a 404 or a server error), which is never stored.
 */
export type PageCacheReason =
  | 'early-fresh'
  | 'fresh'
  | 'stale-while-revalidate'
  | 'stale-if-error'
  | 'expired'
  | 'absent'
  | 'forced'
  | 'method'
  | 'unless'
  | 'query-string'
  | 'head-miss'
  | 'shared-render-not-stored'
  | `not-stored:${UncacheableReason | 'filtered' | 'thrown'}`;

/** What the page cache did for one request and why (`ctx.state.pageCache`). */
export interface PageCacheOutcome {
  readonly status: PageCacheStatus;
  readonly reason: PageCacheReason;
}

/** What a cached route knows of a request before any lookup; `unless` and `forced` are called only when needed, in this order. */
export interface RequestFacts {
  method: string;
  /** The route's `unless`. */
  unless: () => boolean;
  /** Whether the request has a query string and the route's key holds none. */
  unkeyedQuery: boolean;
  /** The route's `forcedUpdate`. */
  forced: () => boolean;
}

/** What to do with a request before any lookup. */
export type RequestDecision =
  | { readonly action: 'bypass'; readonly reason: 'method' | 'unless' | 'query-string' }
  | { readonly action: 'head' }
  | { readonly action: 'revalidate'; readonly reason: 'forced' }
  | { readonly action: 'lookup' };

const BYPASS_METHOD: RequestDecision = { action: 'bypass', reason: 'method' };
const BYPASS_UNLESS: RequestDecision = { action: 'bypass', reason: 'unless' };
const BYPASS_QUERY: RequestDecision = { action: 'bypass', reason: 'query-string' };
const HEAD: RequestDecision = { action: 'head' };
const FORCED: RequestDecision = { action: 'revalidate', reason: 'forced' };
const LOOKUP: RequestDecision = { action: 'lookup' };

/** Bypass (other methods, `unless`, an unkeyed query), answer a HEAD, render afresh (`forcedUpdate`), or look the page up. */
export function decideRequest(facts: RequestFacts): RequestDecision {
  if (!isCacheableMethod(facts.method)) return BYPASS_METHOD;
  if (facts.unless()) return BYPASS_UNLESS;
  if (facts.unkeyedQuery) return BYPASS_QUERY;
  if (facts.method === 'HEAD') return HEAD;
  if (facts.forced()) return FORCED;
  return LOOKUP;
}

/** What to do with a stored page found by a GET. */
export type StoredDecision =
  | { readonly action: 'serve'; readonly outcome: PageCacheOutcome }
  | { readonly action: 'serve-and-revalidate'; readonly outcome: PageCacheOutcome }
  | { readonly action: 'render'; readonly reason: 'expired'; readonly staleOnError: boolean };

const SERVE_FRESH: StoredDecision = { action: 'serve', outcome: { status: 'HIT', reason: 'fresh' } };
const SERVE_STALE: StoredDecision = { action: 'serve-and-revalidate', outcome: { status: 'STALE', reason: 'stale-while-revalidate' } };
const RENDER_OR_STALE: StoredDecision = { action: 'render', reason: 'expired', staleOnError: true };
const RENDER: StoredDecision = { action: 'render', reason: 'expired', staleOnError: false };

/**
 * A fresh page is served; within `staleWhileRevalidate` it is served while one background render
 * refreshes it; later it is rendered again, with the old page served should that render fail
 * while within `staleIfError`.
 */
export function decideStored(state: Freshness): StoredDecision {
  if (state === 'fresh') return SERVE_FRESH;
  if (state === 'stale-while-revalidate') return SERVE_STALE;
  return state === 'stale-if-error' ? RENDER_OR_STALE : RENDER;
}

/** What a HEAD gets: any stored page that can still be served (it never starts a render), else the handler's answer. */
export function decideHead(state: Freshness | undefined): PageCacheOutcome {
  if (state === 'fresh' || state === 'stale-while-revalidate' || state === 'stale-if-error') {
    return { status: state === 'fresh' ? 'HIT' : 'STALE', reason: state };
  }
  return { status: 'MISS', reason: 'head-miss' };
}

/**
 * The outcome of a request whose own render was not stored: a non-200 (or a thrown error, which
 * becomes one) is a MISS, anything else a BYPASS.
 */
export function notStoredOutcome(reason: UncacheableReason | 'filtered' | 'thrown'): PageCacheOutcome {
  return { status: reason === 'status' || reason === 'thrown' ? 'MISS' : 'BYPASS', reason: `not-stored:${reason}` };
}

/**
 * Response headers stored with a page and replayed on a hit. Everything else is left out on
 * purpose: `Set-Cookie` above all, and per-request headers (`Date`, security headers added by an
 * outer middleware on every response anyway).
 */
export const STORED_HEADERS: readonly string[] = [
  'content-type',
  'content-language',
  'content-disposition',
  'content-location',
  'link',
  'cache-control',
  'last-modified',
  'vary',
  'x-robots-tag',
  'xkey',
  'surrogate-key',
];

const STORED = new Set(STORED_HEADERS);

/** Whether the method may be answered from the cache: GET and HEAD only. */
export function isCacheableMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** The response facts the store decision looks at. */
export interface ResponseFacts {
  status: number;
  /** Node's response headers (lower-case names). */
  headers: Readonly<Record<string, string | string[] | number | undefined>>;
  /** The body's bytes (see {@link bodyBytes}); undefined when the body is not replayable data. */
  body: Buffer | undefined;
  /** False when a handler wrote to `ctx.res` itself (`ctx.respond = false`) or headers went out. */
  replayable: boolean;
}

/** Why a response is not stored; `status` responses count as a MISS, the others as a BYPASS. */
export type UncacheableReason =
  | 'status'
  | 'set-cookie'
  | 'cache-control'
  | 'vary'
  | 'content-encoding'
  | 'body'
  | 'not-replayable';

/** Cache-Control directives in a response that forbid a shared cache to store or reuse it. */
const FORBIDDING_DIRECTIVE = /(?:^|,)\s*(?:private|no-store|no-cache)\s*(?:$|,|=)/i;

/**
 * Why the response must not be stored, or undefined when it may be: status 200 only, never with
 * `Set-Cookie`, `Cache-Control: private | no-store | no-cache`, a `Vary` on anything but
 * `Accept-Encoding` (the key does not vary on it), a `Content-Encoding`, a body that is not
 * bytes, text or JSON data (streams, blobs), or a response written outside Koa.
 */
export function uncacheableReason(facts: ResponseFacts): UncacheableReason | undefined {
  if (!facts.replayable) return 'not-replayable';
  if (facts.status !== 200) return 'status';
  const h = facts.headers;
  if (h['set-cookie'] !== undefined) return 'set-cookie';
  if (FORBIDDING_DIRECTIVE.test(headerText(h['cache-control']))) return 'cache-control';
  const vary = headerText(h.vary).toLowerCase().split(',').map((part) => part.trim()).filter(Boolean);
  if (vary.some((name) => name !== 'accept-encoding')) return 'vary';
  const encoding = headerText(h['content-encoding']).trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') return 'content-encoding';
  if (facts.body === undefined) return 'body';
  return undefined;
}

/** Whether the response may be stored (see {@link uncacheableReason}). */
export function isCacheableResponse(facts: ResponseFacts): boolean {
  return uncacheableReason(facts) === undefined;
}

function headerText(value: string | string[] | number | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * The exact bytes Koa would send for a body: strings as UTF-8, Buffers as they are, plain JSON
 * data (objects and arrays) as `JSON.stringify` — what Koa writes; undefined for anything else
 * (streams, Blobs, web streams, Responses, class instances).
 */
export function bodyBytes(body: unknown): Buffer | undefined {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body === null || typeof body !== 'object') return undefined;
  const proto: unknown = Object.getPrototypeOf(body);
  if (!Array.isArray(body) && proto !== Object.prototype && proto !== null) return undefined;
  const json = JSON.stringify(body);
  return json === undefined ? undefined : Buffer.from(json, 'utf8');
}

/** The allow-listed headers of a response (see {@link STORED_HEADERS}), in a storable form. */
export function storedHeaders(headers: Readonly<Record<string, string | string[] | number | undefined>>): StoredHeader[] {
  const kept: StoredHeader[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || !STORED.has(lower)) continue;
    kept.push([lower, Array.isArray(value) ? [...value] : String(value)]);
  }
  return kept;
}

/** Where an entry stands in its life, given its age. */
export type Freshness = 'fresh' | 'stale-while-revalidate' | 'stale-if-error' | 'expired';

/** The page's timing options, in seconds; `timeout` 0 means the page never goes stale. */
export interface FreshnessWindows {
  timeout: Seconds;
  staleWhileRevalidate: Seconds;
  staleIfError: Seconds;
}

/**
 * Classifies an entry stored at `storedAt` (ms) at time `now` (ms): fresh before `timeout`, then
 * servable at once while a refresh runs for `staleWhileRevalidate` more seconds, then usable only
 * when a new render fails until `timeout + staleIfError`, then expired.
 */
export function freshness(storedAt: number, now: number, windows: FreshnessWindows): Freshness {
  if (windows.timeout === 0) return 'fresh';
  const age = (now - storedAt) / 1000;
  if (age < windows.timeout) return 'fresh';
  if (age < windows.timeout + windows.staleWhileRevalidate) return 'stale-while-revalidate';
  if (age < windows.timeout + windows.staleIfError) return 'stale-if-error';
  return 'expired';
}

/** The shared-cache lifetime of a page stored without expiry (a purge still removes it): a year. */
const SHARED_NO_EXPIRY: Seconds = 365 * 24 * 60 * 60;

/**
 * The headers that let a shared HTTP cache (Varnish, a CDN) keep a page the page cache stored
 * for anonymous readers exactly as long as the page cache does, and purge it by the same tags:
 * browsers revalidate (`max-age=0`), the shared cache keeps it `s-maxage` seconds, with the
 * page's stale windows, and `xkey` (Varnish's vmod) and `Surrogate-Key` (CDNs) list its tags.
 */
export function sharedCacheHeaders(windows: FreshnessWindows, tags: readonly string[] | undefined): Record<string, string> {
  const seconds = (value: Seconds) => Math.ceil(value);
  const directives = ['public', 'max-age=0', `s-maxage=${windows.timeout === 0 ? SHARED_NO_EXPIRY : seconds(windows.timeout)}`];
  if (windows.staleWhileRevalidate > 0) directives.push(`stale-while-revalidate=${seconds(windows.staleWhileRevalidate)}`);
  if (windows.staleIfError > 0) directives.push(`stale-if-error=${seconds(windows.staleIfError)}`);
  const headers: Record<string, string> = { 'cache-control': directives.join(', ') };
  if (tags !== undefined && tags.length > 0) {
    headers.xkey = tags.join(' ');
    headers['surrogate-key'] = headers.xkey;
  }
  return headers;
}

/** Seconds the backend keeps a page: long enough for the stale windows (0 stays "no expiry"). */
export function storageTimeout(windows: FreshnessWindows): Seconds {
  if (windows.timeout === 0) return 0;
  return windows.timeout + Math.max(windows.staleWhileRevalidate, windows.staleIfError);
}

/**
 * Whether an `If-None-Match` header matches the ETag, with the weak comparison RFC 9110 §13.1.2
 * prescribes for it (`W/"x"` matches `"x"`); `*` matches any stored page.
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const wanted = stripWeak(etag);
  for (const candidate of ifNoneMatch.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || stripWeak(tag) === wanted) return true;
  }
  return false;
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/**
 * Whether `url` is `path` plus exactly the query a page key holds (no `?` when it holds none), e.g.
 * `/?page=2` with `queryString: ['page']`, but not `/?page=2&junk=1`, `/?page=%32` or `/?`.
 */
export function isKeyedUrl(url: string, path: string, querystring: string, queryString: boolean | readonly string[]): boolean {
  const query = queryString === false ? '' : keyedQuery(querystring, queryString);
  return url === (query === '' ? path : `${path}?${query}`);
}
