import type { Context, Next } from 'koa';
import type { Cache } from '../../cache.ts';
import { matchedRoute } from '../../metrics.ts';
import type { Clock, GetOptions } from '../../types.ts';
import { etagMatches, freshness, type FreshnessWindows, type PageCacheOutcome } from './decide.ts';
import './state.ts';
import { readStoredPageRecord, type StoredPage } from './stored-page.ts';

/**
 * Early answers: a request for a page `cacheView` has already served is answered before
 * sessions, body parsing, routing and the other middleware run, by writing the response prepared
 * when the page was served (header block, body bytes, ETag) in one `writeHead` + `end`.
 *
 * Nothing is answered on the prepared copy's word alone: every answer asks the cache for the
 * page's record (`peek`, else `get`: its tags are checked, a deleted or replaced page falls
 * through, the cache counts the hit) and serves only a record that is still the very page it
 * prepared, and still fresh. Anything else, and every request `eligible` refuses, goes down the
 * whole chain. On a backend with a change stamp, a record the cache already read under the same
 * stamp is answered without reading again (reader.ts), so a hot page costs one check.
 */

/** What an early answer was, for metrics and logs. */
export interface FrontServed {
  /** The route pattern the page was served under (from @koa/router), if known. */
  route: string | undefined;
  status: 200 | 304;
  /** Milliseconds from seeing the request to the response being handed to Node. */
  durationMs: number;
}

/** Options of {@link PreparedPages}. */
export interface PreparedPagesOptions {
  /**
   * Whether this request may be answered before the rest of the app runs. It must imply that
   * every `cacheView`'s `unless` would let the request through once the app's own middleware
   * ran (e.g. "carries no session cookie, so it cannot be the author's").
   */
  eligible: (ctx: Context) => boolean;
  /** Headers outer middleware add to every response, the same for all (e.g. security headers). */
  headers?: Readonly<Record<string, string>>;
  /** Called for every early answer (the app's metrics count it there). */
  onServe?: (ctx: Context, served: FrontServed) => void;
  /** Most pages prepared (default 1000); the least recently answered go first. */
  maxEntries?: number;
  /** Most body bytes prepared (default 32 MiB). */
  maxBytes?: number;
}

/** What `cacheView` hands over about a page it served or stored. */
export interface PreparablePage {
  cache: Cache;
  /** The page's key (from the URL alone: `cacheView` only prepares routes without `makeCacheKey`). */
  key: string;
  entry: StoredPage;
  windows: FreshnessWindows;
  clock: Clock;
  forcedUpdate: (ctx: Context) => boolean;
  unless: (ctx: Context) => boolean;
}

interface Prepared extends PreparablePage {
  /** The last value read from the page's key that proved to be this page's record (peeks share it, frozen). */
  lastVerifiedRecord: unknown;
  /** How the reads are reported (origin `view`, the path as detail). */
  events: GetOptions;
  route: string | undefined;
  /** `writeHead` header lists for a 200 and a 304. */
  headers200: string[];
  headers304: string[];
}

/** The outcome of every early answer. */
const EARLY_FRESH: PageCacheOutcome = Object.freeze({ status: 'HIT', reason: 'early-fresh' });

// Not sent with a 304 (Koa drops them for an empty body, so the full chain does not send them either).
const BODY_HEADERS = new Set(['content-type', 'content-length']);

/** Prepared pages by request URL, answered before the middleware chain; see the module comment. */
export class PreparedPages {
  private readonly pages = new Map<string, Prepared>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private answers = 0;
  private readonly extra: readonly (readonly [string, string])[];

  constructor(private readonly options: PreparedPagesOptions) {
    if (typeof options?.eligible !== 'function') throw new TypeError('PreparedPages: `eligible` must be a function');
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.extra = Object.entries(options.headers ?? {});
  }

  /** Prepares the response of a page just served or stored for `ctx`'s URL. */
  prepare(ctx: Context, page: PreparablePage): void {
    const { entry } = page;
    if (entry.body.length > this.maxBytes) return;
    const headers200: string[] = [];
    for (const [name, value] of entry.headers) {
      for (const one of typeof value === 'string' ? [value] : value) headers200.push(name, one);
    }
    headers200.push('X-Cache', 'HIT', 'ETag', entry.etag, 'Content-Length', String(entry.body.length));
    for (const [name, value] of this.extra) headers200.push(name, value);
    const headers304: string[] = [];
    for (let i = 0; i < headers200.length; i += 2) {
      if (!BODY_HEADERS.has(headers200[i].toLowerCase())) headers304.push(headers200[i], headers200[i + 1]);
    }
    this.forget(ctx.url);
    const route = matchedRoute(ctx);
    this.pages.set(ctx.url, { ...page, lastVerifiedRecord: undefined, events: { origin: 'view', detail: ctx.path }, route, headers200, headers304 });
    this.bytes += entry.body.length;
    while (this.pages.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.pages.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
    }
  }

  /** How many pages are prepared (for tests and stats). */
  get size(): number {
    return this.pages.size;
  }

  /** How many requests were answered early since this was made. */
  get answered(): number {
    return this.answers;
  }

  /** Drops everything prepared (pages are prepared again as they are served). */
  clear(): void {
    this.pages.clear();
    this.bytes = 0;
  }

  /**
   * The middleware; mount it before everything else. A hit the cache can check without waiting
   * (`Cache.peek`) is answered in the tick the request arrived; otherwise the record is read
   * with `get`.
   */
  readonly middleware = (ctx: Context, next: Next): Promise<void> | void => {
    const method = ctx.method;
    if (method !== 'GET' && method !== 'HEAD') return next();
    const page = this.pages.get(ctx.url);
    if (page === undefined || !this.servable(ctx, page)) return next();
    const started = performance.now();
    let peeked: { value: unknown } | undefined;
    try {
      peeked = page.cache.peek(page.key, page.events);
    } catch {
      return next();
    }
    if (peeked !== undefined) return this.answer(ctx, page, peeked.value, started) ? undefined : next();
    return page.cache.get(page.key, page.events).then(
      (value) => (this.answer(ctx, page, value, started) ? undefined : next()),
      () => next(),
    );
  };

  /** Whether the request may be answered early at all (before reading the cache). */
  private servable(ctx: Context, page: Prepared): boolean {
    try {
      return this.options.eligible(ctx) && !page.unless(ctx) && !page.forcedUpdate(ctx);
    } catch {
      return false;
    }
  }

  /**
   * Writes the prepared response if `value`, read from the page's key, is still the record of
   * the very page prepared and it is fresh; returns whether it answered (false: the chain must).
   */
  private answer(ctx: Context, page: Prepared, value: unknown, started: number): boolean {
    try {
      const { entry } = page;
      if (value === undefined || value !== page.lastVerifiedRecord) {
        const record = readStoredPageRecord(value);
        if (record === undefined || record.etag !== entry.etag || record.storedAt !== entry.storedAt) {
          // Invalidated, expired, deleted or replaced: the chain decides, and prepares the new page.
          if (this.pages.get(ctx.url) === page) this.forget(ctx.url);
          return false;
        }
        if (Object.isFrozen(value)) page.lastVerifiedRecord = value;
      }
      if (freshness(entry.storedAt, page.clock.now(), page.windows) !== 'fresh') return false;
      // Most recently answered last, so the least recently answered are evicted first.
      this.pages.delete(ctx.url);
      this.pages.set(ctx.url, page);
      const status = etagMatches(ctx.get('If-None-Match'), entry.etag) ? 304 : 200;
      ctx.state.pageCache = EARLY_FRESH;
      ctx.respond = false;
      ctx.res.writeHead(status, status === 200 ? page.headers200 : page.headers304);
      ctx.res.end(status === 200 && ctx.method === 'GET' ? entry.body : undefined);
      this.answers += 1;
      this.options.onServe?.(ctx, { route: page.route, status, durationMs: performance.now() - started });
      return true;
    } catch {
      // Early answers are only a shortcut: whatever went wrong before writing, the full chain answers.
      if (ctx.res.headersSent) return true;
      ctx.respond = true;
      return false;
    }
  }

  private forget(url: string): void {
    const page = this.pages.get(url);
    if (page === undefined) return;
    this.pages.delete(url);
    this.bytes -= page.entry.body.length;
  }
}
