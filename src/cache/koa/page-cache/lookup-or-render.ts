import type { Context, Next } from 'koa';
import { pageBodyKey } from '../../keys.ts';
import { bodyBytes, sharedCacheHeaders, storedHeaders, uncacheableReason, type UncacheableReason } from './decide.ts';
import { isServerError } from './respond.ts';
import { renderPage, tagsOf, type ViewRoute } from './route.ts';
import {
  decodePageBody,
  encodeStoredPage,
  readStoredPageRecord,
  storedPageFrom,
  storedPageOf,
  type StoredPage,
  type StoredPageRecord,
} from './stored-page.ts';

/**
 * Reading and writing a route's pages through the cache: one lookup-or-render per key in the
 * cache's single flight, a render turned into a stored page (body first, then the record naming
 * it), and a record read back into a page with its body.
 */

/** A render whose response is not stored, and why; never stored itself (see `shouldCache`). */
export class NotStored {
  constructor(
    readonly reason: UncacheableReason | 'filtered',
    readonly status: number,
  ) {}
}

/** What one render leaves in the cache's single flight: the stored record, or why nothing was stored. */
type RenderResult = StoredPageRecord | NotStored;

const isStored = (value: RenderResult): boolean => !(value instanceof NotStored);

/**
 * One lookup-or-render through the cache's single flight; `rendered` says whether `ctx` rendered.
 * A `forced` one renders and replaces whatever is stored.
 */
export async function lookupOrRender(
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
 * Renders the page once and turns the response into a stored page, or says why not. A render
 * that replaces the stored page and can no longer be stored, other than by failing, also drops
 * the old entry: the page is gone, moved or private now, and must not be served.
 */
async function renderForStore(route: ViewRoute, ctx: Context, next: Next, key: string, replacing: boolean): Promise<RenderResult> {
  const { config } = route;
  try {
    await renderPage(route, ctx, next);
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
  // Stored for readers, so a shared HTTP cache may keep it as long and purge it by the same tags;
  // the headers are stored with the page and replayed on every hit, early answers included.
  for (const [name, value] of Object.entries(sharedCacheHeaders(config.windows, tagsOf(route, ctx)))) {
    if (name !== 'cache-control' || !ctx.response.get('Cache-Control')) ctx.set(name, value);
  }
  const page = storedPageOf(body, storedHeaders(ctx.response.headers), config.clock.now());
  const { record, text } = encodeStoredPage(page);
  route.bodies.remember(page.etag, page.body);
  // The body goes first, so a reader that finds the record finds its body.
  await config.cache.set(pageBodyKey(page.etag), text, { timeout: route.bodyTtl, origin: 'view', detail: ctx.path });
  return record;
}

async function drop(route: ViewRoute, ctx: Context, key: string): Promise<void> {
  await route.config.cache.delete(key, { origin: 'view', detail: ctx.path });
}

/** The page a value read under a page key describes, with its body; undefined when there is none. */
export async function entryOf(route: ViewRoute, ctx: Context, value: unknown): Promise<StoredPage | undefined> {
  const record = readStoredPageRecord(value);
  if (!record) return undefined;
  const kept = route.bodies.get(record.etag);
  if (kept) return storedPageFrom(record, kept);
  const body = decodePageBody(record, await route.config.cache.get(pageBodyKey(record.etag), { origin: 'view', detail: ctx.path }));
  if (!body) return undefined;
  route.bodies.remember(record.etag, body);
  return storedPageFrom(record, body);
}
