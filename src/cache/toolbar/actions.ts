import type { Context } from 'koa';
import type { Cache } from '../cache.ts';
import { originAllowed, type ToolbarAccess } from './access.ts';
import { browserIdOf } from './browser.ts';
import type { RequestCollector, RequestRecord } from './collector.ts';
import { entryInfo } from './entry-info.ts';
import { redactSecrets } from './mask.ts';
import { isExplainable } from './sql-insight.ts';
import type { ToolbarToken } from './token.ts';

/** Header that carries the bar's token on the toolbar's POSTs. */
export const TOOLBAR_TOKEN_HEADER = 'X-Kiln-Toolbar-Token';

/**
 * Explains one recorded query: the database's plan as lines (SQLite `EXPLAIN QUERY PLAN`,
 * PostgreSQL `EXPLAIN`), read-only, never running the statement. The application provides it,
 * as it alone knows its database; `parameterCount` placeholders must be bound to something.
 */
export type QueryExplainer = (sql: string, parameterCount: number) => Promise<string[]>;

/** What the toolbar's routes share. */
export interface ActionContext {
  access: ToolbarAccess;
  collector: RequestCollector;
  cache: Cache;
  token: ToolbarToken;
  /** Exact values never sent (mask.ts). */
  secrets: readonly string[];
  /** Whether the key actions are on (development only: the app decides). */
  keyActions: boolean;
  /** EXPLAIN, when the app offers it (development only). */
  explain: QueryExplainer | undefined;
}

/** Sends `body` as JSON with every named secret replaced, whatever field it hid in. */
export function sendJson(ctx: Context, status: number, body: unknown, secrets: readonly string[]): void {
  ctx.status = status;
  ctx.type = 'json';
  ctx.body = redactSecrets(JSON.stringify(body), secrets);
}

/** The record `id` of the asking browser, or a 404 answer and undefined. */
export function ownRecord(routes: ActionContext, ctx: Context, id: string): RequestRecord | undefined {
  const browser = browserIdOf(ctx);
  const record = browser === undefined ? undefined : routes.collector.get(id, browser);
  if (!record) sendJson(ctx, 404, { error: 'No such request (only the most recent ones are kept).' }, routes.secrets);
  return record;
}

/** Whether a POST carries an Origin of this site and a valid bar token; answers 403 when not. */
export function postAllowed(routes: ActionContext, ctx: Context): boolean {
  if (!originAllowed(ctx, routes.access.hosts)) {
    sendJson(ctx, 403, { error: 'Cross-origin request refused (an Origin of this site is required).' }, routes.secrets);
    return false;
  }
  if (!routes.token.verify(ctx.get(TOOLBAR_TOKEN_HEADER) || undefined)) {
    sendJson(ctx, 403, { error: 'Missing or expired toolbar token; reload the page.' }, routes.secrets);
    return false;
  }
  return true;
}

/**
 * Runs a toolbar action as a record of the asking browser (kind `action`), so its History lists
 * it with the cache operations it did; answers what `act` returns.
 */
async function asAction(routes: ActionContext, ctx: Context, act: () => Promise<{ status: number; body: unknown }>): Promise<void> {
  const browser = browserIdOf(ctx);
  await routes.collector.run({ method: ctx.method, url: ctx.originalUrl, browser, kind: 'action' }, async (record) => {
    const { status, body } = await act();
    routes.collector.finish(record, { status });
    sendJson(ctx, status, body, routes.secrets);
  });
}

/** `POST /_toolbar/cache/clear`: clears the whole cache. */
export async function clearCache(routes: ActionContext, ctx: Context): Promise<void> {
  if (!postAllowed(routes, ctx)) return;
  await asAction(routes, ctx, async () => {
    const cleared = await routes.cache.clear();
    return cleared ? { status: 200, body: { cleared: true } } : { status: 503, body: { cleared: false, error: 'The cache backend failed; see the server log.' } };
  });
}

/** The key of cache operation `index` of a record, or a 404 answer and undefined. */
function keyOf(routes: ActionContext, ctx: Context, record: RequestRecord, index: number): string | undefined {
  const op = record.cache[index];
  if (op === undefined || op.op === 'clear' || op.op === 'invalidateTags' || op.backend === 'http') {
    sendJson(ctx, 404, { error: 'That request has no cache entry at this position.' }, routes.secrets);
    return undefined;
  }
  return op.key;
}

function actionsOff(routes: ActionContext, ctx: Context): boolean {
  if (routes.keyActions) return false;
  sendJson(ctx, 404, { error: 'Key actions are available in development only.' }, routes.secrets);
  return true;
}

/** `GET /_toolbar/:id/cache/:index`: the entry's remaining TTL and tags now. */
export async function showEntry(routes: ActionContext, ctx: Context, id: string, index: number): Promise<void> {
  if (actionsOff(routes, ctx)) return;
  const record = ownRecord(routes, ctx, id);
  const key = record && keyOf(routes, ctx, record, index);
  if (key === undefined) return;
  try {
    sendJson(ctx, 200, await entryInfo(routes.cache, key), routes.secrets);
  } catch (error) {
    sendJson(ctx, 503, { error: `The backend could not be read: ${error instanceof Error ? error.message : String(error)}` }, routes.secrets);
  }
}

/** `POST /_toolbar/:id/cache/:index/drop`: deletes that entry's key. */
export async function dropKey(routes: ActionContext, ctx: Context, id: string, index: number): Promise<void> {
  if (actionsOff(routes, ctx) || !postAllowed(routes, ctx)) return;
  const record = ownRecord(routes, ctx, id);
  const key = record && keyOf(routes, ctx, record, index);
  if (key === undefined) return;
  await asAction(routes, ctx, async () => {
    const existed = await routes.cache.delete(key);
    return { status: 200, body: { dropped: existed, key } };
  });
}

/** `POST /_toolbar/:id/cache/:index/invalidate?tag=name`: invalidates one tag the entry is stored under. */
export async function invalidateTag(routes: ActionContext, ctx: Context, id: string, index: number): Promise<void> {
  if (actionsOff(routes, ctx) || !postAllowed(routes, ctx)) return;
  const record = ownRecord(routes, ctx, id);
  const key = record && keyOf(routes, ctx, record, index);
  if (key === undefined) return;
  const tag = typeof ctx.query.tag === 'string' ? ctx.query.tag : '';
  const { tags } = await entryInfo(routes.cache, key);
  if (!tags.includes(tag)) {
    sendJson(ctx, 400, { error: 'That entry is not stored under this tag (only its own tags can be invalidated from here).' }, routes.secrets);
    return;
  }
  await asAction(routes, ctx, async () => {
    const done = await routes.cache.invalidateTags([tag]);
    return done ? { status: 200, body: { invalidated: tag } } : { status: 503, body: { error: 'The cache backend failed; see the server log.' } };
  });
}

/** `POST /_toolbar/:id/sql/:index/explain`: the plan of a SELECT this request ran. */
export async function explainQuery(routes: ActionContext, ctx: Context, id: string, index: number): Promise<void> {
  const { explain } = routes;
  if (explain === undefined) {
    sendJson(ctx, 404, { error: 'EXPLAIN is available in development only.' }, routes.secrets);
    return;
  }
  if (!postAllowed(routes, ctx)) return;
  const record = ownRecord(routes, ctx, id);
  if (!record) return;
  const query = record.queries[index];
  if (query === undefined || query.sql.endsWith('…') || !isExplainable(query.sql)) {
    sendJson(ctx, 400, { error: 'Only a complete SELECT this request ran can be explained.' }, routes.secrets);
    return;
  }
  try {
    sendJson(ctx, 200, { sql: query.sql, plan: await routes.collector.outside(() => explain(query.sql, query.parameters)) }, routes.secrets);
  } catch (error) {
    sendJson(ctx, 422, { error: `EXPLAIN failed: ${error instanceof Error ? error.message : String(error)}` }, routes.secrets);
  }
}
