import type { Context, Next } from 'koa';
import { pageBodyKey } from '../../keys.ts';
import { COMPRESSIONS, type Compression } from '../accept-encoding.ts';
import { isCompressibleType } from '../compression.ts';
import { bodyBytes, sharedCacheHeaders, storedHeaders, uncacheableReason, type UncacheableReason } from './decide.ts';
import { isServerError } from './respond.ts';
import { renderPage, tagsOf, type ViewRoute } from './route.ts';
import {
  decodePageBody,
  encodeStoredPage,
  readStoredPageRecord,
  storedPageFrom,
  storedPageOf,
  type PageForm,
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
  const forms = await compressedForms(route, ctx, body);
  // The page is stored with its compressed forms, so its response varies on Accept-Encoding.
  if (forms.length > 0) ctx.vary('Accept-Encoding');
  const page = storedPageOf(body, storedHeaders(ctx.response.headers), config.clock.now(), forms);
  const encoded = encodeStoredPage(page);
  route.bodies.remember(page.etag, page.body);
  for (const form of page.forms) route.bodies.remember(form.etag, form.body);
  // The bodies go first, so a reader that finds the record finds its bodies.
  const events = { timeout: route.bodyTtl, origin: 'view', detail: ctx.path } as const;
  await Promise.all([
    config.cache.set(pageBodyKey(page.etag), encoded.text, events),
    ...encoded.forms.map((form) => config.cache.set(pageBodyKey(form.etag), form.text, events)),
  ]);
  return encoded.record;
}

/**
 * The compressed forms of a body about to be stored, made once here so no hit ever compresses:
 * one per coding, for a compressible type at or above the threshold, each kept only when smaller
 * than the body. A compressor that fails leaves its form out (the page is still stored).
 */
async function compressedForms(route: ViewRoute, ctx: Context, body: Buffer): Promise<{ coding: Compression; body: Buffer }[]> {
  const { compression } = route;
  if (compression === undefined || body.length < compression.threshold || !isCompressibleType(ctx.response.get('Content-Type'))) return [];
  const made = await Promise.all(
    COMPRESSIONS.map((coding) =>
      compression.compressor(coding, body).then(
        (bytes) => ({ coding, body: bytes }),
        () => undefined,
      ),
    ),
  );
  return made.filter((form): form is { coding: Compression; body: Buffer } => form !== undefined && form.body.length < body.length);
}

async function drop(route: ViewRoute, ctx: Context, key: string): Promise<void> {
  await route.config.cache.delete(key, { origin: 'view', detail: ctx.path });
}

/**
 * The page a value read under a page key describes, with its body and compressed forms;
 * undefined when there is none. A form whose bytes are missing is left out: the page is served
 * in the codings it still has.
 */
export async function entryOf(route: ViewRoute, ctx: Context, value: unknown): Promise<StoredPage | undefined> {
  const record = readStoredPageRecord(value);
  if (!record) return undefined;
  const kept = keptPage(route, record);
  if (kept) return kept;
  const [body, ...forms] = await Promise.all([
    bodyOf(route, ctx, record),
    ...(record.forms ?? []).map(async (form): Promise<PageForm | undefined> => {
      const bytes = await bodyOf(route, ctx, form);
      return bytes && { coding: form.coding, etag: form.etag, body: bytes };
    }),
  ]);
  if (!body) return undefined;
  return storedPageFrom(record, body, forms.filter((form) => form !== undefined));
}

/** The page when its body and every form are kept in memory (a hit's usual case, with no wait); else undefined. */
function keptPage(route: ViewRoute, record: StoredPageRecord): StoredPage | undefined {
  const body = route.bodies.get(record.etag);
  if (!body) return undefined;
  const forms: PageForm[] = [];
  for (const form of record.forms ?? []) {
    const bytes = route.bodies.get(form.etag);
    if (!bytes) return undefined;
    forms.push({ coding: form.coding, etag: form.etag, body: bytes });
  }
  return storedPageFrom(record, body, forms);
}

/** One body named by a record, from the bodies kept in memory or else from the cache. */
async function bodyOf(
  route: ViewRoute,
  ctx: Context,
  record: { etag: string; bodyLength: number; bodyEncoding?: 'utf8' | 'latin1' },
): Promise<Buffer | undefined> {
  const kept = route.bodies.get(record.etag);
  if (kept) return kept;
  const body = decodePageBody(record, await route.config.cache.get(pageBodyKey(record.etag), { origin: 'view', detail: ctx.path }));
  if (body) route.bodies.remember(record.etag, body);
  return body;
}
