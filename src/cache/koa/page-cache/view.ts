/**
 * How a request for a cached page flows through the files of this folder:
 *
 *   GET /posts/3 ─► early answer (prepared-pages.ts, mounted first): URL prepared · eligible ·
 *      │            cache.peek(record key) · the record prepared · fresh ──yes──► writeHead + end
 *      ▼ no
 *   the app's middleware ─► router ─► cacheView (this file)
 *      not GET/HEAD · unless · a query the key ignores (decide.ts) ─► BYPASS: the handler renders
 *      Cache.getOrSet, one render per key: HIT ─► replay the stored page (stored-page.ts), prepare it
 *                                          MISS ─► handler; a storable 200 ─► body, record, replay
 *      STALE within staleWhileRevalidate ─► served at once, re-rendered in the background (revalidate.ts)
 */
import type { Context, Next } from 'koa';
import type { Cache } from '../../cache.ts';
import { pageBodyKey, viewKey } from '../../keys.ts';
import type { Seconds } from '../../types.ts';
import {
  bodyBytes,
  decideHead,
  decideRequest,
  decideStored,
  freshness,
  isKeyedUrl,
  notStoredOutcome,
  storageTimeout,
  storedHeaders,
  uncacheableReason,
  type PageCacheOutcome,
  type UncacheableReason,
} from './decide.ts';
import { resolveOptions, type CacheViewConfig, type CacheViewOptions } from './options.ts';
import { isServerError, markOutcome, replay, restoreHeaders, serveStored, snapshotHeaders } from './respond.ts';
import { BackgroundRefresher, refreshTicketOf } from './revalidate.ts';
import { PageBodies } from './page-bodies.ts';
import type { PreparedPages } from './prepared-pages.ts';
import {
  decodePageBody,
  encodeStoredPage,
  readStoredPageRecord,
  storedPageFrom,
  storedPageOf,
  type StoredPage,
  type StoredPageRecord,
} from './stored-page.ts';

export type { CacheViewOptions } from './options.ts';

/** The middleware `cacheView` returns, with what it does kept inspectable. */
export interface CacheViewMiddleware {
  (ctx: Context, next: Next): Promise<void>;
  /** The key this route stores the request's page under. */
  makeCacheKey(ctx: Context): string;
  /** Resolves once no background refresh started by this middleware is running. */
  idle(): Promise<void>;
}

/** A render whose response is not stored, and why; never stored itself (see `shouldCache`). */
class NotStored {
  constructor(
    readonly reason: UncacheableReason | 'filtered',
    readonly status: number,
  ) {}
}

/** What one render leaves in the cache's single flight: the stored record, or why nothing was stored. */
type RenderResult = StoredPageRecord | NotStored;

const isStored = (value: RenderResult): boolean => !(value instanceof NotStored);

/** Why a request renders the page itself. */
type MissReason = 'absent' | 'expired' | 'forced';

const STALE_ON_ERROR: PageCacheOutcome = { status: 'STALE', reason: 'stale-if-error' };

/** What the routes of one page cache share (a `PageCache`, page-cache.ts). */
export interface ViewShared {
  /** Recent bodies by ETag. */
  readonly bodies: PageBodies;
  /** Pages prepared for early answers; none when nothing answers early. */
  readonly prepared: PreparedPages | undefined;
  /** The background renders of stale pages. */
  readonly refresher: BackgroundRefresher;
}

/** One cached route: its options checked once, and what it shares with the other routes of its page cache. */
interface ViewRoute extends ViewShared {
  readonly config: CacheViewConfig;
  /** Seconds the backend keeps a record: long enough for the stale windows (0 = no expiry). */
  readonly ttl: Seconds;
  /** Seconds a body is kept: a little longer than its record, so a record never names an expired body. */
  readonly bodyTtl: Seconds;
}

const defaults = new WeakMap<Cache, ViewShared>();

/**
 * Page caching for Koa: stores a route's finished 200 response (bytes, allow-listed headers, a
 * strong ETag) and replays it, with `X-Cache: HIT | MISS | BYPASS | STALE` on every response.
 * Concurrent misses of one page render it once; see the README for every rule. A shortcut for
 * one route: the routes of an app usually come from one `createPageCache(...).view(...)`, which
 * can also answer early.
 *
 * @example
 * router.get('/posts/:id', cacheView({ cache, timeout: 1800, unless: (ctx) => Boolean(ctx.state.author),
 *   tags: (ctx) => ['posts', `post:${ctx.params.id}`] }), showPost);
 */
export function cacheView(options: CacheViewOptions): CacheViewMiddleware {
  return createView(options, undefined);
}

/** The middleware of one route of the page cache `shared` belongs to (page-cache.ts), or of its cache's default one. */
export function createView(options: CacheViewOptions, shared: ViewShared | undefined): CacheViewMiddleware {
  const config = resolveOptions(options);
  const ttl = storageTimeout(config.windows);
  const { bodies, prepared, refresher } = shared ?? defaultShared(config.cache);
  const route: ViewRoute = { config, bodies, prepared, refresher, ttl, bodyTtl: ttl === 0 ? 0 : ttl + 60 };
  async function cacheView(ctx: Context, next: Next): Promise<void> {
    return handleRequest(route, ctx, next);
  }
  return Object.assign(cacheView, { makeCacheKey: (ctx: Context) => keyOf(route, ctx), idle: () => route.refresher.idle() });
}

/** What `cacheView` routes on one cache share when no `PageCache` was made for them: no early answers. */
function defaultShared(cache: Cache): ViewShared {
  let shared = defaults.get(cache);
  if (!shared) {
    shared = { bodies: PageBodies.of(cache), prepared: undefined, refresher: new BackgroundRefresher() };
    defaults.set(cache, shared);
  }
  return shared;
}

/** Decides what the page cache does for one request, and does it. */
async function handleRequest(route: ViewRoute, ctx: Context, next: Next): Promise<void> {
  const { config } = route;
  const ticket = refreshTicketOf(ctx);
  const decision = decideRequest({
    method: ctx.method,
    unless: () => config.unless(ctx),
    unkeyedQuery: !config.queryString && !config.makeCacheKey && ctx.querystring !== '',
    forced: () => (ticket !== undefined && ticket.owner === route.refresher && ticket.key === keyOf(route, ctx)) || config.forcedUpdate(ctx),
  });
  if (decision.action === 'bypass') {
    markOutcome(ctx, { status: 'BYPASS', reason: decision.reason });
    return next();
  }
  const key = keyOf(route, ctx);
  if (decision.action === 'head') return handleHead(route, ctx, next, key);
  if (decision.action === 'revalidate') return revalidateNow(route, ctx, next, key, undefined, 'forced');

  const { value, rendered } = await lookupOrRender(route, ctx, next, key, false);
  if (rendered) return finishAfterRender(route, ctx, key, value, 'absent');
  if (value instanceof NotStored) return renderOwn(ctx, next);
  const entry = await entryOf(route, ctx, value);
  if (!entry) return revalidateNow(route, ctx, next, key, undefined, 'absent');
  const stored = decideStored(freshness(entry.storedAt, config.clock.now(), config.windows));
  if (stored.action === 'serve') {
    prepareEarlyAnswer(route, ctx, key, entry);
    return serveStored(ctx, entry, stored.outcome);
  }
  if (stored.action === 'serve-and-revalidate') {
    if (!ticket) route.refresher.start(ctx, key);
    return serveStored(ctx, entry, stored.outcome);
  }
  return revalidateNow(route, ctx, next, key, stored.staleOnError ? entry : undefined, stored.reason);
}

/** HEAD: answered from the GET's stored page while it can be served, else by the handler; never stored. */
async function handleHead(route: ViewRoute, ctx: Context, next: Next, key: string): Promise<void> {
  const { config } = route;
  const value: unknown = await config.cache.get(key, { origin: 'view', detail: ctx.path });
  const entry = await entryOf(route, ctx, value);
  const outcome = decideHead(entry && freshness(entry.storedAt, config.clock.now(), config.windows));
  if (entry && outcome.status !== 'MISS') return serveStored(ctx, entry, outcome);
  // A handler may legitimately skip the body for HEAD, so its response is not stored.
  markOutcome(ctx, outcome);
  await next();
}

/** The request that rendered got a response that cannot be shared: this one renders its own. */
async function renderOwn(ctx: Context, next: Next): Promise<void> {
  markOutcome(ctx, { status: 'MISS', reason: 'shared-render-not-stored' });
  await next();
}

/** One lookup-or-render through the cache's single flight; `rendered` says whether this request ran the chain. */
async function lookupOrRender(
  route: ViewRoute,
  ctx: Context,
  next: Next,
  key: string,
  forced: boolean,
): Promise<{ value: unknown; rendered: boolean }> {
  let rendered = false;
  const value: unknown = await route.config.cache.getOrSet<RenderResult>(
    key,
    () => {
      rendered = true;
      return renderForStore(route, ctx, next, key, forced);
    },
    { timeout: route.ttl, tags: tagsOf(route, ctx), origin: 'view', detail: ctx.path, forcedUpdate: () => forced, shouldCache: isStored },
  );
  return { value, rendered };
}

/**
 * Runs the rest of the chain once and turns its response into a stored page, or says why
 * not. A forced render (`replacing`) whose page can no longer be stored, other than by failing,
 * also drops the old entry: the page is gone, moved or private now, and must not be served.
 */
async function renderForStore(route: ViewRoute, ctx: Context, next: Next, key: string, replacing: boolean): Promise<RenderResult> {
  const { config } = route;
  try {
    await next();
  } catch (error) {
    if (replacing && !isServerError(error)) await drop(route, ctx, key);
    throw error;
  }
  const body = bodyBytes(ctx.body);
  const reason =
    uncacheableReason({
      status: ctx.status,
      headers: ctx.response.headers,
      body,
      replayable: ctx.respond !== false && !ctx.headerSent,
    }) ?? (config.unless(ctx) || !config.responseFilter(ctx) ? 'filtered' : undefined);
  if (reason !== undefined || body === undefined) {
    if (replacing && ctx.status < 500) await drop(route, ctx, key);
    return new NotStored(reason ?? 'body', ctx.status);
  }
  const entry = storedPageOf(body, storedHeaders(ctx.response.headers), config.clock.now());
  const { record, text } = encodeStoredPage(entry);
  route.bodies.remember(entry.etag, entry.body);
  // The body goes first, so a reader that finds the record finds its body.
  await config.cache.set(pageBodyKey(entry.etag), text, { timeout: route.bodyTtl, origin: 'view', detail: ctx.path });
  return record;
}

/**
 * Finishes the response of the request that rendered (a miss for `reason`): the stored bytes and
 * ETag, or its own response when nothing was stored.
 */
async function finishAfterRender(route: ViewRoute, ctx: Context, key: string, value: unknown, reason: MissReason): Promise<void> {
  const entry = await entryOf(route, ctx, value);
  if (!entry) {
    markOutcome(ctx, value instanceof NotStored ? notStoredOutcome(value.reason) : { status: 'MISS', reason });
    return;
  }
  markOutcome(ctx, { status: 'MISS', reason });
  prepareEarlyAnswer(route, ctx, key, entry);
  replay(ctx, entry);
}

/** Renders afresh (forced) for `reason`, falling back to `stale` when the render fails with a server error. */
async function revalidateNow(
  route: ViewRoute,
  ctx: Context,
  next: Next,
  key: string,
  stale: StoredPage | undefined,
  reason: MissReason,
): Promise<void> {
  const before = stale ? snapshotHeaders(ctx) : undefined;
  let outcome: { value: unknown; rendered: boolean };
  try {
    outcome = await lookupOrRender(route, ctx, next, key, true);
  } catch (error) {
    if (!stale || !isServerError(error)) throw error;
    restoreHeaders(ctx, before);
    return serveStored(ctx, stale, STALE_ON_ERROR);
  }
  const { value, rendered } = outcome;
  if (stale && value instanceof NotStored && value.status >= 500) {
    restoreHeaders(ctx, before);
    return serveStored(ctx, stale, STALE_ON_ERROR);
  }
  if (rendered) return finishAfterRender(route, ctx, key, value, reason);
  const entry = await entryOf(route, ctx, value);
  // Another request rendered it meanwhile.
  if (entry) return serveStored(ctx, entry, { status: 'HIT', reason: 'fresh' });
  return renderOwn(ctx, next);
}

/**
 * Prepares a page served or stored for a GET, so the next requests for this URL may be answered
 * early. Only a URL in its keyed form (the query exactly as the key holds it) is prepared, so one
 * page has one URL there: other spellings and dropped parameters, which an outsider can vary
 * without end, are answered through the chain and never crowd the bounded list. A route with
 * `makeCacheKey` is never prepared: its key may depend on more than the URL.
 */
function prepareEarlyAnswer(route: ViewRoute, ctx: Context, key: string, entry: StoredPage): void {
  const { config, prepared } = route;
  if (!prepared || config.makeCacheKey || ctx.method !== 'GET' || !isKeyedUrl(ctx.url, ctx.path, ctx.querystring, config.queryString)) return;
  const { cache, windows, clock, forcedUpdate, unless } = config;
  prepared.prepare(ctx, { cache, key, entry, windows, clock, forcedUpdate, unless });
}

/** The page a value read under a page key describes, with its body; undefined when there is none. */
async function entryOf(route: ViewRoute, ctx: Context, value: unknown): Promise<StoredPage | undefined> {
  const record = readStoredPageRecord(value);
  if (!record) return undefined;
  const kept = route.bodies.get(record.etag);
  if (kept) return storedPageFrom(record, kept);
  const body = decodePageBody(record, await route.config.cache.get(pageBodyKey(record.etag), { origin: 'view', detail: ctx.path }));
  if (!body) return undefined;
  route.bodies.remember(record.etag, body);
  return storedPageFrom(record, body);
}

async function drop(route: ViewRoute, ctx: Context, key: string): Promise<void> {
  await route.config.cache.delete(key, { origin: 'view', detail: ctx.path });
}

/** The key a request's page is stored under. */
function keyOf(route: ViewRoute, ctx: Context): string {
  const { config } = route;
  if (!config.makeCacheKey) return viewKey(config.keyPrefix, ctx.path, ctx.querystring, { queryString: config.queryString });
  const key = config.makeCacheKey(ctx);
  if (typeof key !== 'string' || key === '') throw new TypeError('cacheView: makeCacheKey must return a non-empty string');
  return key;
}

/** The tags of a request's page, checked. */
function tagsOf(route: ViewRoute, ctx: Context): readonly string[] | undefined {
  if (!route.config.tags) return undefined;
  const tags = route.config.tags(ctx);
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new TypeError('cacheView: tags must return an array of strings');
  }
  return tags;
}
