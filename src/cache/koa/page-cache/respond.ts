import type { Context } from 'koa';
import { codingFor } from '../compression.ts';
import { etagMatches, type PageCacheOutcome } from './decide.ts';
import './state.ts';
import type { PageForm, StoredPage } from './stored-page.ts';

/**
 * How `cacheView` writes what it decided onto the Koa response: a stored page replayed (its
 * headers, ETag and bytes, or a 304), the outcome in `X-Cache` and `ctx.state`, and the headers
 * of a failed render rolled back before a stale page is served in its place.
 */

/** Records what the page cache did for this request: `X-Cache` for the client, `ctx.state.pageCache` for outer middleware. */
export function markOutcome(ctx: Context, outcome: PageCacheOutcome): void {
  ctx.state.pageCache = outcome;
  ctx.set('X-Cache', outcome.status);
}

/** Answers from a stored page: its headers, ETag and bytes, or 304 when the client has it. */
export function serveStored(ctx: Context, entry: StoredPage, outcome: PageCacheOutcome): void {
  ctx.status = 200;
  for (const [name, value] of entry.headers) ctx.set(name, typeof value === 'string' ? value : [...value]);
  markOutcome(ctx, outcome);
  replay(ctx, entry);
}

/**
 * Sends a stored page in the coding the request prefers among the forms it has (identity when
 * compression is deferred to the request frame): that form's ETag and bytes, or a 304 without a
 * body when `If-None-Match` matches that form's ETag.
 */
export function replay(ctx: Context, entry: StoredPage): void {
  const form = formFor(ctx, entry);
  ctx.set('ETag', form.etag);
  if (entry.forms.length > 0) ctx.vary('Accept-Encoding');
  if (!ctx.state.deferCompression) ctx.state.contentCoding = form.coding;
  if (etagMatches(ctx.get('If-None-Match'), form.etag)) {
    ctx.status = 304;
    ctx.body = null;
    return;
  }
  if (form.coding !== 'identity') ctx.set('Content-Encoding', form.coding);
  ctx.body = form.body;
}

/** The stored form (or the identity body) a request gets. */
export function formFor(ctx: Context, entry: StoredPage): PageForm | { coding: 'identity'; etag: string; body: Buffer } {
  if (entry.forms.length === 0) return { coding: 'identity', etag: entry.etag, body: entry.body };
  const coding = codingFor(ctx, entry.forms.map((form) => form.coding));
  return entry.forms.find((form) => form.coding === coding) ?? { coding: 'identity', etag: entry.etag, body: entry.body };
}

/** The response headers as they are now, to roll back to with {@link restoreHeaders}. */
export function snapshotHeaders(ctx: Context): Record<string, string | string[]> {
  const copy: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(ctx.response.headers)) {
    if (value !== undefined) copy[name] = Array.isArray(value) ? [...value] : String(value);
  }
  return copy;
}

/** Drops what a failed render set on the response, keeping what outer middleware set before it. */
export function restoreHeaders(ctx: Context, before: Record<string, string | string[]> | undefined): void {
  if (!before || ctx.headerSent) return;
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
  ctx.set(before);
}

/** Whether a thrown error is the server's fault (Koa's `status`, 500 when absent) rather than a 4xx. */
export function isServerError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return true;
  const status = 'status' in error ? error.status : 'statusCode' in error ? error.statusCode : undefined;
  return typeof status !== 'number' || status >= 500;
}
