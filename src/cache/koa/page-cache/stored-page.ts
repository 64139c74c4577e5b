import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Cache } from '../../cache.ts';
import { pageBodyKey } from '../../keys.ts';
import { isCompression, type Compression } from '../accept-encoding.ts';

/**
 * How a cached page is stored: a small record under the page's key, and the body under a
 * content-addressed key of its own.
 *
 * - The record (`StoredPageRecord`, plain JSON data) goes through the cache like any value, so
 *   timeouts, tags and invalidation apply to it; it names the body by its ETag.
 * - The body is stored once per distinct content under `pageBodyKey(etag)`, as text: UTF-8 when
 *   the bytes are valid UTF-8 (the usual HTML/JSON case), otherwise one character per byte
 *   (latin1), so any bytes survive every backend exactly.
 * - Its compressed forms (brotli, gzip), made once when the page is stored, are bodies of their
 *   own: each under `pageBodyKey(its etag)`, as base64 text (plain data on every backend), named
 *   in the record with its coding and length. Each has its own strong ETag (the hash of its
 *   bytes), so a conditional request is answered per encoding.
 *
 * A body never changes under its key, so a process may keep recent bodies in memory
 * (page-bodies.ts) and serve a hit as: read the small record → find the body by ETag → write it.
 * Whether a page may be served is always decided by reading its record, so an invalidated or
 * deleted page is never served from that memory.
 *
 * Records are written in format 3. Format 2 (the same facts under one-letter names) is still
 * read, so while processes of the previous release share the store (Redis during a rolling
 * deploy), the new ones serve the pages the old ones stored instead of rendering and replacing
 * them. New facts about a page go in as optional fields of format 3: a reader keeps only the
 * fields it knows: `forms` is one (a reader of the previous release serves the page
 * in identity; a record without it is a page without compressed forms).
 */

/** A response header kept with a page: its lower-case name and its value(s). */
export type StoredHeader = readonly [name: string, value: string | readonly string[]];

/** A compressed form of a page: its coding, its bytes and their strong ETag. */
export interface PageForm {
  readonly coding: Compression;
  /** Strong ETag of these bytes, quotes included (distinct from the identity body's). */
  readonly etag: string;
  readonly body: Buffer;
}

/** What a page's record says of one compressed form; the bytes are stored as base64 under `pageBodyKey(etag)`. */
export interface StoredFormRecord {
  readonly coding: Compression;
  readonly etag: string;
  /** Its length in bytes. */
  readonly bodyLength: number;
}

/** A cached page, ready to replay. */
export interface StoredPage {
  /** When it was rendered, in ms by the middleware's clock. */
  readonly storedAt: number;
  /** Strong ETag of the body, quotes included, computed once when stored. */
  readonly etag: string;
  /** The allow-listed response headers (see decide.ts). */
  readonly headers: readonly StoredHeader[];
  /** The exact response bytes. */
  readonly body: Buffer;
  /** Its compressed forms, best first (none for a small body or a type not worth compressing). */
  readonly forms: readonly PageForm[];
}

/** What is stored under a page's key. */
export interface StoredPageRecord {
  /** The format this record is written in. */
  readonly format: 3;
  /** When the page was rendered (ms). */
  readonly storedAt: number;
  /** Strong ETag of the body, which also names the body's key. */
  readonly etag: string;
  /** Body length in bytes. */
  readonly bodyLength: number;
  /** How the body's bytes are stored as text. */
  readonly bodyEncoding: 'utf8' | 'latin1';
  /** The stored response headers. */
  readonly headers: readonly StoredHeader[];
  /** The compressed forms stored with the page; absent when it has none. */
  readonly forms?: readonly StoredFormRecord[];
}

/** The strong ETag of a body: the first 128 bits of its SHA-256, base64url, quoted. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/** The page a render produced, with the compressed forms made of it; the only place a page's ETags are computed. */
export function storedPageOf(
  body: Buffer,
  headers: readonly StoredHeader[],
  storedAt: number,
  compressed: readonly { coding: Compression; body: Buffer }[] = [],
): StoredPage {
  const forms = compressed.map(({ coding, body: bytes }) => ({ coding, etag: etagOf(bytes), body: bytes }));
  return { storedAt, etag: etagOf(body), headers, body, forms };
}

/** What to store for a page: its record, its body's text, and each compressed form's etag and text. */
export interface EncodedPage {
  record: StoredPageRecord;
  text: string;
  forms: { etag: string; text: string }[];
}

/** The record and body texts to store for a page. */
export function encodeStoredPage(page: StoredPage): EncodedPage {
  const bodyEncoding = isUtf8(page.body) ? 'utf8' : 'latin1';
  const forms = page.forms.map(({ coding, etag, body }) => ({ coding, etag, bodyLength: body.length }));
  const record: StoredPageRecord = {
    format: 3,
    storedAt: page.storedAt,
    etag: page.etag,
    bodyLength: page.body.length,
    bodyEncoding,
    headers: page.headers,
    ...(forms.length > 0 ? { forms } : {}),
  };
  return { record, text: page.body.toString(bodyEncoding), forms: page.forms.map(({ etag, body }) => ({ etag, text: body.toString('base64') })) };
}

/** The record in a value read from a page key (format 3, or 2 read as 3), or undefined when it is not one (a miss). */
export function readStoredPageRecord(value: unknown): StoredPageRecord | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const field = (name: string): unknown => Reflect.get(value, name);
  const format = field('format') === 3 ? 3 : field('v') === 2 ? 2 : undefined;
  if (format === undefined) return undefined;
  const storedAt = field(format === 3 ? 'storedAt' : 't');
  const etag = field(format === 3 ? 'etag' : 'e');
  const bodyLength = field(format === 3 ? 'bodyLength' : 'n');
  const bodyEncoding = format === 3 ? field('bodyEncoding') : field('b') === 'u' ? 'utf8' : field('b') === 'l' ? 'latin1' : undefined;
  const headers = field(format === 3 ? 'headers' : 'h');
  if (typeof storedAt !== 'number' || typeof etag !== 'string' || typeof bodyLength !== 'number') return undefined;
  if (bodyEncoding !== 'utf8' && bodyEncoding !== 'latin1') return undefined;
  if (!Array.isArray(headers) || !headers.every(isStoredHeader)) return undefined;
  const forms = format === 3 ? storedForms(field('forms')) : undefined;
  return forms === undefined ? { format: 3, storedAt, etag, bodyLength, bodyEncoding, headers } : { format: 3, storedAt, etag, bodyLength, bodyEncoding, headers, forms };
}

/** The compressed forms a record lists; a list that is not well formed counts as none (the page is still served, in identity). */
function storedForms(value: unknown): StoredFormRecord[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const forms: StoredFormRecord[] = [];
  for (const item of value as unknown[]) {
    if (item === null || typeof item !== 'object') return undefined;
    const coding: unknown = Reflect.get(item, 'coding');
    const etag: unknown = Reflect.get(item, 'etag');
    const bodyLength: unknown = Reflect.get(item, 'bodyLength');
    if (!isCompression(coding) || typeof etag !== 'string' || typeof bodyLength !== 'number') return undefined;
    forms.push({ coding, etag, bodyLength });
  }
  return forms;
}

function isStoredHeader(value: unknown): value is StoredHeader {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') return false;
  const v: unknown = value[1];
  return typeof v === 'string' || (Array.isArray(v) && v.every((item) => typeof item === 'string'));
}

/**
 * The body bytes in stored text, or undefined when the text is missing or does not match the
 * record (cut, re-encoded or not this body): its length and hash must both agree. A compressed
 * form's record gives no `bodyEncoding`: its text is base64.
 */
export function decodePageBody(
  record: { etag: string; bodyLength: number; bodyEncoding?: 'utf8' | 'latin1' },
  text: unknown,
): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const body = Buffer.from(text, record.bodyEncoding ?? 'base64');
  if (body.length !== record.bodyLength || etagOf(body) !== record.etag) return undefined;
  return body;
}

/** The page a record, its body and the compressed forms found make. */
export function storedPageFrom(record: StoredPageRecord, body: Buffer, forms: readonly PageForm[]): StoredPage {
  return { storedAt: record.storedAt, etag: record.etag, headers: record.headers, body, forms };
}

/**
 * The page stored under a page key, body included, or undefined when there is none; for tests,
 * tools and audits (e.g. `cacheView(...).makeCacheKey(ctx)` or `viewKey(...)` gives the key).
 */
export async function loadPage(cache: Cache, key: string): Promise<StoredPage | undefined> {
  const record = readStoredPageRecord(await cache.get(key));
  if (!record) return undefined;
  const body = decodePageBody(record, await cache.get(pageBodyKey(record.etag)));
  if (!body) return undefined;
  const forms: PageForm[] = [];
  for (const form of record.forms ?? []) {
    const bytes = decodePageBody(form, await cache.get(pageBodyKey(form.etag)));
    if (bytes) forms.push({ coding: form.coding, etag: form.etag, body: bytes });
  }
  return storedPageFrom(record, body, forms);
}
