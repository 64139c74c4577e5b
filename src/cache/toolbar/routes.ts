import type { Context, Next } from 'koa';
import type { Cache } from '../cache.ts';
import { originAllowed, toolbarAllowed, type ToolbarAccess } from './access.ts';
import { browserIdOf } from './browser.ts';
import type { RequestCollector, RequestRecord } from './collector.ts';
import { TOOLBAR_PATHS } from './inspector.ts';
import type { ToolbarToken } from './token.ts';

/** Header that carries the bar's token on `POST /_toolbar/cache/clear`. */
export const TOOLBAR_TOKEN_HEADER = 'X-Kiln-Toolbar-Token';

/** Options of {@link toolbarRoutes}. */
export interface ToolbarRoutesOptions {
  /** Whether it is on, for which clients and on which host names (also the `Origin`s its POST accepts). */
  access: ToolbarAccess;
  collector: RequestCollector;
  /** The cache that `POST /_toolbar/cache/clear` clears. */
  cache: Cache;
  /** Checks the Clear cache button's token. */
  token: ToolbarToken;
  /** Path of the routes (default `/_toolbar`). */
  base?: string;
  /** URL folder of the assets, guarded here and served by the static files middleware (default `/static/toolbar/`). */
  assets?: string;
}

const ID = /^\/([A-Za-z0-9_-]{1,64})$/;

/** A record's headline, for the list of recent requests. */
function summary(record: RequestRecord) {
  return {
    id: record.id,
    method: record.method,
    url: record.url,
    status: record.status,
    pageCache: record.pageCache,
    totalMs: record.timings.totalMs,
    cacheOps: record.cache.length,
    queries: record.queries.length,
    finished: record.finished,
  };
}

/**
 * The toolbar's routes, for allowed clients addressing one of the site's host names only (everyone
 * else, and everyone when the toolbar is off, gets a plain 404 from the app's error handler, for
 * the assets too). Each browser reads only its own requests (browser.ts):
 *
 * - `GET /_toolbar` → the browser's recent requests (`{ requests: [...] }`), newest first;
 * - `GET /_toolbar/:requestId` → `{ request, stats, breakerState }`; 404 once forgotten, or when
 *   it is another browser's request;
 * - `POST /_toolbar/cache/clear` → clears the cache. It answers the bar's script, not a form, so it
 *   does not use the author's session CSRF token (an anonymous developer has none): it requires an
 *   `Origin` on one of the site's host names and the bar's HMAC token in `X-Kiln-Toolbar-Token`
 *   (see token.ts), else 403.
 *
 * Mount it inside the error handler and before the static files, body parser and the app's CSRF
 * check (it reads no body and answers its POST itself).
 */
export function toolbarRoutes(options: ToolbarRoutesOptions) {
  const routes: Routes = { ...options, base: options.base ?? TOOLBAR_PATHS.base, assets: options.assets ?? TOOLBAR_PATHS.assets };
  return async function toolbarRoutes(ctx: Context, next: Next): Promise<void> {
    const place = guard(routes, ctx);
    if (place === 'elsewhere' || place === 'asset') return next();
    if (place === 'refused') {
      ctx.status = 404;
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    const rest = ctx.path.slice(routes.base.length);
    if (rest === '/cache/clear') return ctx.method === 'POST' ? clearCache(routes, ctx) : wrongMethod(ctx, 'POST');
    const id = ID.exec(rest)?.[1];
    if (rest !== '' && rest !== '/' && id === undefined) {
      ctx.status = 404;
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return wrongMethod(ctx, 'GET, HEAD');
    return id === undefined ? listRequests(routes, ctx) : showRequest(routes, ctx, id);
  };
}

/** The options with their defaults. */
interface Routes extends ToolbarRoutesOptions {
  base: string;
  assets: string;
}

/**
 * Where a request stands: not the toolbar's (`elsewhere`), the toolbar's but not for this client
 * or host name (`refused`, a 404 that says nothing), or an allowed `asset` or `route`.
 */
function guard(routes: Routes, ctx: Context): 'elsewhere' | 'refused' | 'asset' | 'route' {
  const isAsset = ctx.path.startsWith(routes.assets);
  const isRoute = ctx.path === routes.base || ctx.path.startsWith(`${routes.base}/`);
  if (!isAsset && !isRoute) return 'elsewhere';
  if (!toolbarAllowed(ctx, routes.access)) return 'refused';
  return isAsset ? 'asset' : 'route';
}

function wrongMethod(ctx: Context, allow: 'POST' | 'GET, HEAD'): void {
  ctx.set('Allow', allow);
  ctx.status = 405;
  ctx.body = { error: allow === 'POST' ? 'Use POST.' : 'Use GET.' };
}

/** `GET /_toolbar`: the browser's recent requests, newest first (none for a browser without its cookie). */
function listRequests(routes: Routes, ctx: Context): void {
  const browser = browserIdOf(ctx);
  ctx.body = { requests: browser === undefined ? [] : routes.collector.recent(browser).map(summary) };
}

/** `GET /_toolbar/:requestId`: one of the browser's requests, with the cache's stats. */
async function showRequest(routes: Routes, ctx: Context, id: string): Promise<void> {
  const browser = browserIdOf(ctx);
  const record = browser === undefined ? undefined : routes.collector.get(id, browser);
  if (!record) {
    ctx.status = 404;
    ctx.body = { error: 'No such request (only the most recent ones are kept).' };
    return;
  }
  ctx.body = { request: record, stats: await routes.cache.stats(), breakerState: routes.cache.store.breaker?.breakerState ?? null };
}

/** `POST /_toolbar/cache/clear`: clears the cache for a same-origin request carrying the bar's token. */
async function clearCache(routes: Routes, ctx: Context): Promise<void> {
  if (!originAllowed(ctx, routes.access.hosts)) {
    ctx.status = 403;
    ctx.body = { error: 'Cross-origin request refused (an Origin of this site is required).' };
    return;
  }
  if (!routes.token.verify(ctx.get(TOOLBAR_TOKEN_HEADER) || undefined)) {
    ctx.status = 403;
    ctx.body = { error: 'Missing or expired toolbar token; reload the page.' };
    return;
  }
  const cleared = await routes.cache.clear();
  ctx.status = cleared ? 200 : 503;
  ctx.body = cleared ? { cleared: true } : { cleared: false, error: 'The cache backend failed; see the server log.' };
}
