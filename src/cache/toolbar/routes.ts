import type { Context, Next } from 'koa';
import type { Cache } from '../cache.ts';
import { pageCacheReasonText } from '../koa/page-cache/reasons.ts';
import { toolbarAllowed, type ToolbarAccess } from './access.ts';
import {
  clearCache,
  dropKey,
  explainQuery,
  invalidateTag,
  ownRecord,
  sendJson,
  showEntry,
  type ActionContext,
  type QueryExplainer,
} from './actions.ts';
import type { AppInfo } from './app-info.ts';
import { browserIdOf } from './browser.ts';
import type { RequestCollector, RequestRecord } from './collector.ts';
import { TOOLBAR_PATHS } from './inspector.ts';
import { analyseQueries } from './sql-insight.ts';
import type { ToolbarToken } from './token.ts';

export { TOOLBAR_TOKEN_HEADER } from './actions.ts';

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
  /** Settings, versions and routes of the app. */
  info?: AppInfo;
  /** Exact secret values never sent in any answer. */
  secrets?: readonly string[];
  /** Whether TTL and tags, drop key and invalidate tag are answered (development only; default off). */
  keyActions?: boolean;
  /** EXPLAIN of a recorded SELECT (development only; default none). */
  explain?: QueryExplainer;
}

const ID = /^\/([A-Za-z0-9_-]{1,64})$/;
const SUB = /^\/([A-Za-z0-9_-]{1,64})\/(cache|sql)\/(\d{1,6})(?:\/(drop|invalidate|explain))?$/;

/** A record's headline, for the list of recent requests. */
function summary(record: RequestRecord) {
  return {
    id: record.id,
    method: record.method,
    url: record.url,
    status: record.status,
    kind: record.kind,
    pageCache: record.pageCache,
    pageCacheReason: record.pageCacheReason,
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
 * - `GET /_toolbar` → the browser's recent requests and toolbar actions (`{ requests: [...] }`), newest first;
 * - `GET /_toolbar/:requestId` → `{ request, page, sql, settings, versions, routes, stats, breakerState }`:
 *   every tab's data (headers and log lines are in `request`); 404 once forgotten, or when it is
 *   another browser's request;
 * - `GET /_toolbar/:requestId/cache/:index` → that entry's remaining TTL and tags now;
 * - `POST /_toolbar/cache/clear`, `POST /_toolbar/:requestId/cache/:index/drop`,
 *   `POST /_toolbar/:requestId/cache/:index/invalidate?tag=…` and
 *   `POST /_toolbar/:requestId/sql/:index/explain` act and are listed in the browser's History.
 *   They answer the bar's script, not a form, so they do not use the author's session CSRF token
 *   (an anonymous developer has none): each requires an `Origin` on one of the site's host names
 *   and the bar's HMAC token in `X-Kiln-Toolbar-Token` (see token.ts), else 403. Keys and
 *   queries are named by request and position, never sent as text: only what this browser's
 *   request touched can be dropped or explained.
 *
 * Every answer has the app's named secrets replaced (mask.ts). Mount it inside the error handler
 * and before the static files, body parser and the app's CSRF check (it reads no body).
 */
export function toolbarRoutes(options: ToolbarRoutesOptions) {
  const routes: Routes = {
    ...options,
    base: options.base ?? TOOLBAR_PATHS.base,
    assets: options.assets ?? TOOLBAR_PATHS.assets,
    secrets: options.secrets ?? [],
    keyActions: options.keyActions ?? false,
    explain: options.explain,
  };
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
    const sub = SUB.exec(rest);
    if (sub !== null) return subRoute(routes, ctx, sub);
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
interface Routes extends ActionContext {
  base: string;
  assets: string;
  info?: AppInfo;
}

/** `/:id/cache/:index[/drop|/invalidate]` and `/:id/sql/:index/explain`. */
function subRoute(routes: Routes, ctx: Context, [, id, area, position, verb]: RegExpExecArray): Promise<void> | void {
  const index = Number(position);
  if (verb === undefined && area === 'cache') return ctx.method === 'GET' || ctx.method === 'HEAD' ? showEntry(routes, ctx, id, index) : wrongMethod(ctx, 'GET, HEAD');
  if (ctx.method !== 'POST') return wrongMethod(ctx, 'POST');
  if (area === 'cache' && verb === 'drop') return dropKey(routes, ctx, id, index);
  if (area === 'cache' && verb === 'invalidate') return invalidateTag(routes, ctx, id, index);
  if (area === 'sql' && verb === 'explain') return explainQuery(routes, ctx, id, index);
  ctx.status = 404;
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
  sendJson(ctx, 200, { requests: browser === undefined ? [] : routes.collector.recent(browser).map(summary) }, routes.secrets);
}

/** `GET /_toolbar/:requestId`: one of the browser's requests, with every tab's data. */
async function showRequest(routes: Routes, ctx: Context, id: string): Promise<void> {
  const record = ownRecord(routes, ctx, id);
  if (!record) return;
  const reason = record.pageCacheReason;
  sendJson(
    ctx,
    200,
    {
      request: record,
      page: { status: record.pageCache ?? null, reason: reason ?? null, reasonText: reason === undefined ? null : pageCacheReasonText(reason), bytes: record.responseBytes ?? null },
      sql: analyseQueries(record.queries),
      settings: routes.info?.settings ?? null,
      versions: routes.info === undefined ? null : await routes.info.versions(),
      routes: routes.info?.routes() ?? [],
      stats: await routes.cache.stats(),
      breakerState: routes.cache.store.breaker?.breakerState ?? null,
    },
    routes.secrets,
  );
}
