import type { Context, Next } from 'koa';
import type { Cache } from '../cache.ts';
import { breakerStateOf } from '../metrics.ts';
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
  const { access, collector, cache, token } = options;
  const base = options.base ?? TOOLBAR_PATHS.base;
  const assets = options.assets ?? TOOLBAR_PATHS.assets;

  async function clear(ctx: Context): Promise<void> {
    if (!originAllowed(ctx, access.hosts)) {
      ctx.status = 403;
      ctx.body = { error: 'Cross-origin request refused (an Origin of this site is required).' };
      return;
    }
    if (!token.verify(ctx.get(TOOLBAR_TOKEN_HEADER) || undefined)) {
      ctx.status = 403;
      ctx.body = { error: 'Missing or expired toolbar token; reload the page.' };
      return;
    }
    const cleared = await cache.clear();
    ctx.status = cleared ? 200 : 503;
    ctx.body = cleared ? { cleared: true } : { cleared: false, error: 'The cache backend failed; see the server log.' };
  }

  async function show(ctx: Context, id: string, browser: string | undefined): Promise<void> {
    const record = browser === undefined ? undefined : collector.get(id, browser);
    if (!record) {
      ctx.status = 404;
      ctx.body = { error: 'No such request (only the most recent ones are kept).' };
      return;
    }
    ctx.body = { request: record, stats: await cache.stats(), breakerState: breakerStateOf(cache.backend) ?? null };
  }

  return async function toolbarRoutes(ctx: Context, next: Next): Promise<void> {
    const isAsset = ctx.path.startsWith(assets);
    const isRoute = ctx.path === base || ctx.path.startsWith(`${base}/`);
    if (!isAsset && !isRoute) return next();
    if (!toolbarAllowed(ctx, access)) {
      ctx.status = 404;
      return;
    }
    if (isAsset) return next();
    ctx.set('Cache-Control', 'no-store');
    const rest = ctx.path.slice(base.length);
    const read = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (rest === '/cache/clear') {
      if (ctx.method === 'POST') return clear(ctx);
      ctx.set('Allow', 'POST');
      ctx.status = 405;
      ctx.body = { error: 'Use POST.' };
      return;
    }
    const id = ID.exec(rest)?.[1];
    if (rest !== '' && rest !== '/' && id === undefined) {
      ctx.status = 404;
      return;
    }
    if (!read) {
      ctx.set('Allow', 'GET, HEAD');
      ctx.status = 405;
      ctx.body = { error: 'Use GET.' };
      return;
    }
    const browser = browserIdOf(ctx);
    if (id === undefined) {
      ctx.body = { requests: browser === undefined ? [] : collector.recent(browser).map(summary) };
      return;
    }
    await show(ctx, id, browser);
  };
}
