import type { Context } from 'koa';
import type { Cache } from '../../cache.ts';
import type { Clock, GetOptions } from '../../types.ts';
import type { Compression, ContentCoding } from '../accept-encoding.ts';
import { codingFor } from '../compression.ts';
import type { EarlyAnswer, EarlyAnswers } from '../request-frame.ts';
import { matchedRoute } from '../route-name.ts';
import { etagMatches, freshness, type FreshnessWindows } from './decide.ts';
import { readStoredPageRecord, type StoredPage } from './stored-page.ts';

/**
 * Early answers: a request for a page `cacheView` has already served is answered by the request
 * frame (request-frame.ts) before sessions, body parsing, routing and the other middleware run,
 * with the response prepared when the page was served (header list, body bytes, ETag).
 *
 * Nothing is answered on the prepared copy's word alone: every answer asks the cache for the
 * page's record (`peek`, else `get`: its tags are checked, a deleted or replaced page falls
 * through, the cache counts the hit) and serves only a record that is still the very page it
 * prepared, and still fresh. Anything else, and every request `eligible` refuses, goes down the
 * whole chain. On a backend with a content version, a record the cache already read under the same
 * version is answered without reading again (reader.ts), so a hot page costs one check.
 */

/** Options of {@link PreparedPages}. */
export interface PreparedPagesOptions {
  /**
   * Whether this request may be answered before the rest of the app runs. It must imply that
   * every `cacheView`'s `unless` would let the request through once the app's own middleware
   * ran (e.g. "carries no session cookie, so it cannot be the author's").
   */
  eligible: (ctx: Context) => boolean;
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

/** A page's answers in one coding: with its bytes, and the 304 for a request that has them. */
interface PreparedAnswers {
  readonly ok: EarlyAnswer;
  readonly notModified: EarlyAnswer;
  /** The ETag of the bytes in this coding. */
  readonly etag: string;
}

interface Prepared extends PreparablePage {
  /** The last value read from the page's key that proved to be this page's record (peeks share it, frozen). */
  lastVerifiedRecord: unknown;
  /** How the reads are reported (origin `view`, the path as detail). */
  events: GetOptions;
  /** The codings the page has compressed forms in, best first. */
  codings: readonly Compression[];
  /** The answers in each coding the page is stored in, to a request without and with a matching `If-None-Match`. */
  answers: ReadonlyMap<ContentCoding, PreparedAnswers>;
  /** Body bytes held, over every coding. */
  bytes: number;
}

// Not sent with a 304 (Koa drops the first two for an empty body, and the page cache sends a
// coding only with the bytes in it, so the full chain does not send them either).
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding']);

/** Prepared pages by request URL, answered before the middleware chain; see the module comment. */
export class PreparedPages implements EarlyAnswers {
  private readonly pages = new Map<string, Prepared>();
  /** The page answered last: already last in `pages`, so answering it again needs no move. */
  private lastAnswered: Prepared | undefined;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private answers = 0;

  constructor(private readonly options: PreparedPagesOptions) {
    if (typeof options?.eligible !== 'function') throw new TypeError('PreparedPages: `eligible` must be a function');
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  }

  /** Prepares the response of a page just served or stored for `ctx`'s URL, in every coding it is stored in. */
  prepare(ctx: Context, page: PreparablePage): void {
    const { entry } = page;
    const bytes = entry.forms.reduce((sum, form) => sum + form.body.length, entry.body.length);
    if (bytes > this.maxBytes) return;
    const stored: string[] = [];
    for (const [name, value] of entry.headers) {
      for (const one of typeof value === 'string' ? [value] : value) stored.push(name, one);
    }
    const route = matchedRoute(ctx);
    const answers = new Map<ContentCoding, PreparedAnswers>([['identity', answersFor(stored, entry.etag, entry.body, undefined, route)]]);
    for (const form of entry.forms) answers.set(form.coding, answersFor(stored, form.etag, form.body, form.coding, route));
    this.forget(ctx.url);
    this.lastAnswered = undefined;
    this.pages.set(ctx.url, {
      ...page,
      lastVerifiedRecord: undefined,
      events: { origin: 'view', detail: ctx.path },
      codings: entry.forms.map((form) => form.coding),
      answers,
      bytes,
    });
    this.bytes += bytes;
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
   * The prepared answer to this request, when its page is prepared, the request is eligible and
   * the cache still holds the very page prepared, fresh. The cache is asked with `peek`, so a hit
   * it can check without waiting is answered in the tick the request arrived; otherwise the
   * record is read with `get`. Anything unusual is no answer: the chain decides.
   */
  find(ctx: Context): EarlyAnswer | undefined | Promise<EarlyAnswer | undefined> {
    // Node's request, not Koa's delegating getters: on a hit they cost as much as the check itself.
    const { method, url = ctx.url } = ctx.req;
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const page = this.pages.get(url);
    if (page === undefined || !this.servable(ctx, page)) return undefined;
    let peeked: { value: unknown } | undefined;
    try {
      peeked = page.cache.peek(page.key, page.events);
    } catch {
      return undefined;
    }
    if (peeked !== undefined) return this.answerFor(ctx, url, page, peeked.value);
    return page.cache.get(page.key, page.events).then(
      (value) => this.answerFor(ctx, url, page, value),
      () => undefined,
    );
  }

  /** Whether the request may be answered early at all (before reading the cache). */
  private servable(ctx: Context, page: Prepared): boolean {
    try {
      return this.options.eligible(ctx) && !page.unless(ctx) && !page.forcedUpdate(ctx);
    } catch {
      return false;
    }
  }

  /**
   * The prepared answer if `value`, read from the page's key, is still the record of the very
   * page prepared and it is fresh; undefined otherwise (the chain must answer).
   */
  private answerFor(ctx: Context, url: string, page: Prepared, value: unknown): EarlyAnswer | undefined {
    try {
      const { entry } = page;
      if (value === undefined || value !== page.lastVerifiedRecord) {
        const record = readStoredPageRecord(value);
        if (record === undefined || record.etag !== entry.etag || record.storedAt !== entry.storedAt) {
          // Invalidated, expired, deleted or replaced: the chain decides, and prepares the new page.
          if (this.pages.get(url) === page) this.forget(url);
          return undefined;
        }
        if (Object.isFrozen(value)) page.lastVerifiedRecord = value;
      }
      if (freshness(entry.storedAt, page.clock.now(), page.windows) !== 'fresh') return undefined;
      // Most recently answered last, so the least recently answered are evicted first.
      if (page !== this.lastAnswered) {
        this.pages.delete(url);
        this.pages.set(url, page);
        this.lastAnswered = page;
      }
      this.answers += 1;
      const answer = page.answers.get(codingFor(ctx, page.codings)) ?? page.answers.get('identity');
      if (answer === undefined) return undefined;
      return etagMatches(ctx.req.headers['if-none-match'], answer.etag) ? answer.notModified : answer.ok;
    } catch {
      return undefined;
    }
  }

  private forget(url: string): void {
    const page = this.pages.get(url);
    if (page === undefined) return;
    this.pages.delete(url);
    this.bytes -= page.bytes;
  }
}

/**
 * The answers in one coding: the stored headers, then `X-Cache`, the coding's ETag,
 * `Content-Encoding` (200 only) and `Content-Length` (200 only).
 */
function answersFor(stored: readonly string[], etag: string, body: Buffer, coding: Compression | undefined, route: string | undefined): PreparedAnswers {
  const encoding = coding === undefined ? [] : ['Content-Encoding', coding];
  const headers200 = [...stored, 'X-Cache', 'HIT', 'ETag', etag, ...encoding, 'Content-Length', String(body.length)];
  const headers304: string[] = [];
  for (let i = 0; i < headers200.length; i += 2) {
    if (!BODY_HEADERS.has(headers200[i].toLowerCase())) headers304.push(headers200[i], headers200[i + 1]);
  }
  const ok: EarlyAnswer = { status: 200, headers: headers200, body, route };
  const notModified: EarlyAnswer = { status: 304, headers: headers304, body: undefined, route };
  return { ok, notModified, etag };
}
