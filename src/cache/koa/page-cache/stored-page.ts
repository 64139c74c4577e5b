import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Cache } from '../../cache.ts';
import { makeKey } from '../../keys.ts';

/**
 * How a cached page is stored: a small record under the page's key, and the body under a
 * content-addressed key of its own.
 *
 * - The record (`PageRecord`, plain JSON data) goes through the cache like any value, so
 *   timeouts, tags and invalidation apply to it; it names the body by its ETag.
 * - The body is stored once per distinct content under `bodyKey(etag)`, as text: UTF-8 when the
 *   bytes are valid UTF-8 (`b: "u"`, the usual HTML/JSON case), otherwise one character per byte
 *   (`b: "l"`, latin1), so any bytes survive every backend exactly.
 *
 * A body never changes under its key, so a process may keep recent bodies in memory
 * (`PageBodies`) and serve a hit as: read the small record → find the body by ETag → write it.
 * Whether a page may be served is always decided by reading its record, so an invalidated or
 * deleted page is never served from that memory.
 */

/** A response header kept with a page: its lower-case name and its value(s). */
export type StoredHeader = readonly [name: string, value: string | readonly string[]];

/** A cached page, ready to replay. */
export interface PageEntry {
  /** When it was rendered, in ms by the middleware's clock. */
  readonly storedAt: number;
  /** Strong ETag of the body, quotes included, computed once when stored. */
  readonly etag: string;
  /** The allow-listed response headers (see decisions.ts). */
  readonly headers: readonly StoredHeader[];
  /** The exact response bytes. */
  readonly body: Buffer;
}

/** What is stored under a page's key. */
export interface PageRecord {
  /** Format version. */
  readonly v: 2;
  /** Stored-at time (ms). */
  readonly t: number;
  /** ETag, which also names the body. */
  readonly e: string;
  /** Body length in bytes. */
  readonly n: number;
  /** Body text encoding: `u` UTF-8, `l` latin1. */
  readonly b: 'u' | 'l';
  /** Stored headers. */
  readonly h: readonly StoredHeader[];
}

/** The strong ETag of a body: the first 128 bits of its SHA-256, base64url, quoted. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/** Builds an entry for a rendered body; the only place a page's ETag is computed. */
export function makePageEntry(body: Buffer, headers: readonly StoredHeader[], storedAt: number): PageEntry {
  return { storedAt, etag: etagOf(body), headers, body };
}

/** The key a body is stored under: its ETag, so equal bodies share one entry and none ever changes. */
export function bodyKey(etag: string): string {
  return makeKey('view-body', etag);
}

/** The record and body text to store for an entry. */
export function encodePage(entry: PageEntry): { record: PageRecord; text: string } {
  const utf8 = isUtf8(entry.body);
  const record: PageRecord = { v: 2, t: entry.storedAt, e: entry.etag, n: entry.body.length, b: utf8 ? 'u' : 'l', h: entry.headers };
  return { record, text: entry.body.toString(utf8 ? 'utf8' : 'latin1') };
}

/** The record in a value read from the cache, or undefined when it is not one (a miss). */
export function readPageRecord(value: unknown): PageRecord | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Partial<Record<keyof PageRecord, unknown>>;
  if (r.v !== 2 || typeof r.t !== 'number' || typeof r.e !== 'string' || typeof r.n !== 'number') return undefined;
  if ((r.b !== 'u' && r.b !== 'l') || !Array.isArray(r.h) || !r.h.every(isStoredHeader)) return undefined;
  return { v: 2, t: r.t, e: r.e, n: r.n, b: r.b, h: r.h };
}

function isStoredHeader(value: unknown): value is StoredHeader {
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') return false;
  const v: unknown = value[1];
  return typeof v === 'string' || (Array.isArray(v) && v.every((item) => typeof item === 'string'));
}

/**
 * The body bytes in stored text, or undefined when the text is missing or does not match the
 * record (cut, re-encoded or not this body): its length and hash must both agree.
 */
export function decodeBody(record: PageRecord, text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const body = Buffer.from(text, record.b === 'u' ? 'utf8' : 'latin1');
  if (body.length !== record.n || etagOf(body) !== record.e) return undefined;
  return body;
}

/** The entry a record and its body make. */
export function pageEntry(record: PageRecord, body: Buffer): PageEntry {
  return { storedAt: record.t, etag: record.e, headers: record.h, body };
}

/**
 * The page stored under a page key, body included, or undefined when there is none; for tests,
 * tools and audits (e.g. `cacheView(...).makeCacheKey(ctx)` or `viewKey(...)` gives the key).
 */
export async function loadPage(cache: Cache, key: string): Promise<PageEntry | undefined> {
  const record = readPageRecord(await cache.get(key));
  if (!record) return undefined;
  const body = decodeBody(record, await cache.get(bodyKey(record.e)));
  return body && pageEntry(record, body);
}

/** Bounds of {@link PageBodies}. */
export interface PageBodiesOptions {
  /** Most bodies kept (default 256). */
  maxEntries?: number;
  /** Most bytes kept (default 8 MiB). */
  maxBytes?: number;
}

const shared = new WeakMap<Cache, PageBodies>();

/**
 * Recently served bodies by ETag, least recently stored first out. Safe to keep: a body's ETag
 * is its hash, so an ETag always names the same bytes; what may be served is decided elsewhere.
 */
export class PageBodies {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly bodies = new Map<string, Buffer>();
  private bytes = 0;

  constructor(options: PageBodiesOptions = {}) {
    this.maxEntries = options.maxEntries ?? 256;
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  }

  /** The bodies kept for one cache, shared by every `cacheView` on it so the bound holds per process. */
  static of(cache: Cache): PageBodies {
    let bodies = shared.get(cache);
    if (!bodies) {
      bodies = new PageBodies();
      shared.set(cache, bodies);
    }
    return bodies;
  }

  /** The body with this ETag, if kept. */
  get(etag: string): Buffer | undefined {
    return this.bodies.get(etag);
  }

  /** Keeps a body, evicting the oldest beyond the bounds; a body larger than the byte bound is not kept. */
  remember(etag: string, body: Buffer): void {
    if (this.bodies.has(etag) || body.length > this.maxBytes) return;
    this.bodies.set(etag, body);
    this.bytes += body.length;
    while (this.bodies.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.bodies.entries().next();
      if (oldest.done) break;
      this.bodies.delete(oldest.value[0]);
      this.bytes -= oldest.value[1].length;
    }
  }
}
