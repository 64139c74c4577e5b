/**
 * How a request for a cached page flows through the files of this folder:
 *
 *   GET /posts/3 ─► the request frame (../request-frame.ts, before Koa's handling) asks PreparedPages.find (prepared-pages.ts):
 *      │   URL prepared · eligible · cache.peek(record key) · the page prepared · fresh ──yes──► written at once
 *      ▼ no
 *   the app's middleware ─► router ─► cacheView (this file; a route of a PageCache, page-cache.ts)
 *      not GET/HEAD · unless · a query the key ignores (decide.ts) ─► BYPASS: `render` answers
 *      Cache.getOrSet, one render per key (lookup-or-render.ts):
 *          HIT ─► replay the stored page (respond.ts, stored-page.ts), prepare it for early answers
 *          MISS ─► `render`; a storable 200 ─► body, then record ─► replay
 *          STALE within staleWhileRevalidate ─► served at once; `render` alone runs again in the
 *                background for an anonymous copy of the request (revalidate.ts)
 *   ◄─ the frame puts its headers on the response and reports it, whichever way it was answered
 */
import type { Context, Next } from 'koa';
import { decideHead, decideRequest, decideStored, freshness, isKeyedUrl, notStoredOutcome, type PageCacheOutcome } from './decide.ts';
import { entryOf, lookupOrRender, NotStored } from './lookup-or-render.ts';
import type { CacheViewOptions } from './options.ts';
import { isServerError, markOutcome, replay, restoreHeaders, serveStored, snapshotHeaders } from './respond.ts';
import { anonymousContextFor } from './revalidate.ts';
import { keyOf, makeRoute, renderPage, type ViewRoute, type ViewShared } from './route.ts';
import type { StoredPage } from './stored-page.ts';

export type { CacheViewOptions } from './options.ts';

/** The middleware `cacheView` returns, with what it does kept inspectable. */
export interface CacheViewMiddleware {
  (ctx: Context, next: Next): Promise<void>;
  /** The key this route stores the request's page under. */
  makeCacheKey(ctx: Context): string;
  /** Resolves once no background render of its page cache is running. */
  idle(): Promise<void>;
}

/** Why a request renders the page itself. */
type MissReason = 'absent' | 'expired' | 'forced';

const STALE_ON_ERROR: PageCacheOutcome = { status: 'STALE', reason: 'stale-if-error' };

/** What a background render's handler gets as `next`: nothing comes after it. */
const nothingNext: Next = () => Promise.resolve();

/**
 * Page caching for Koa: stores a route's finished 200 response (bytes, allow-listed headers, a
 * strong ETag) and replays it, with `X-Cache: HIT | MISS | BYPASS | STALE` on every response.
 * Concurrent misses of one page render it once; see the README for every rule. A shortcut for
 * one route: the routes of an app usually come from one `createPageCache(...).view(...)`, which
 * can also answer early.
 *
 * @example
 * router.get('/posts/:id', cacheView({ cache, timeout: 1800, unless: (ctx) => Boolean(ctx.state.author),
 *   tags: (ctx) => ['posts', `post:${ctx.params.id}`], render: showPost }));
 */
export function cacheView(options: CacheViewOptions): CacheViewMiddleware {
  return createView(options, undefined);
}

/** The middleware of one route of the page cache `shared` belongs to (page-cache.ts), or of its cache's default one. */
export function createView(options: CacheViewOptions, shared: ViewShared | undefined): CacheViewMiddleware {
  const route = makeRoute(options, shared);
  async function cacheView(ctx: Context, next: Next): Promise<void> {
    try {
      await handleRequest(route, ctx, next);
    } catch (error) {
      // The error page the app renders for it is never stored; outer middleware learns why (no X-Cache: the error handler answers).
      ctx.state.pageCache ??= THROWN;
      throw error;
    }
  }
  return Object.assign(cacheView, { makeCacheKey: (ctx: Context) => keyOf(route, ctx), idle: () => route.revalidation.idle() });
}

const THROWN = notStoredOutcome('thrown');

/** Decides what the page cache does for one request, and does it. */
async function handleRequest(route: ViewRoute, ctx: Context, next: Next): Promise<void> {
  const { config } = route;
  const decision = decideRequest({
    method: ctx.method,
    unless: () => config.unless(ctx),
    unkeyedQuery: !config.queryString && !config.makeCacheKey && ctx.querystring !== '',
    forced: () => config.forcedUpdate(ctx),
  });
  if (decision.action === 'bypass') {
    markOutcome(ctx, { status: 'BYPASS', reason: decision.reason });
    await renderPage(route, ctx, next);
    return;
  }
  const key = keyOf(route, ctx);
  if (decision.action === 'head') return handleHead(route, ctx, next, key);
  if (decision.action === 'revalidate') return revalidateNow(route, ctx, next, key, undefined, 'forced');

  const { value, rendered } = await lookupOrRender(route, ctx, next, key, false);
  if (rendered) return finishAfterRender(route, ctx, key, value, 'absent');
  if (value instanceof NotStored) return renderOwn(route, ctx, next);
  const entry = await entryOf(route, ctx, value);
  if (!entry) return revalidateNow(route, ctx, next, key, undefined, 'absent');
  const stored = decideStored(freshness(entry.storedAt, config.clock.now(), config.windows));
  if (stored.action === 'serve') {
    prepareEarlyAnswer(route, ctx, key, entry);
    return serveStored(ctx, entry, stored.outcome);
  }
  if (stored.action === 'serve-and-revalidate') {
    revalidateInBackground(route, ctx, key);
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
  await renderPage(route, ctx, next);
}

/** The request that rendered got a response that cannot be shared: this one renders its own. */
async function renderOwn(route: ViewRoute, ctx: Context, next: Next): Promise<void> {
  markOutcome(ctx, { status: 'MISS', reason: 'shared-render-not-stored' });
  await renderPage(route, ctx, next);
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
  return renderOwn(route, ctx, next);
}

/**
 * Starts one background render of a page just served stale: `render` alone, for an anonymous
 * copy of the request, stored over the stale page. A server error keeps the stale page and goes
 * to `onRevalidationError`; any other failure (the page is gone or private now) drops it.
 */
function revalidateInBackground(route: ViewRoute, ctx: Context, key: string): void {
  route.revalidation.start(key, async () => {
    let anonymous: Context | undefined;
    try {
      anonymous = anonymousContextFor(ctx);
      await lookupOrRender(route, anonymous, nothingNext, key, true);
    } catch (error) {
      if (isServerError(error)) route.config.onRevalidationError(error, anonymous ?? ctx);
    }
  });
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
