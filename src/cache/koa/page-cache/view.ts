/**
 * How a request for a cached page flows through the files of this folder:
 *
 *   GET /posts/3 ─► PageFront (prepared-pages.ts, mounted first): URL prepared · no session cookie ·
 *      │            cache.peek(record key) · the record prepared · fresh ──yes──► writeHead + end
 *      ▼ no
 *   the app's middleware ─► router ─► cacheView (this file)
 *      not GET/HEAD · unless · a query the key ignores (decide.ts) ─► BYPASS: the handler renders
 *      Cache.getOrSet, one render per key: HIT ─► replay the stored page (stored-page.ts), prepare it
 *                                          MISS ─► handler; a storable 200 ─► body, record, replay
 *      STALE within staleWhileRevalidate ─► served at once, re-rendered in the background (revalidate.ts)
 */
import type { Context, Next } from 'koa';
import { viewKey } from '../../keys.ts';
import {
  bodyBytes,
  etagMatches,
  freshness,
  isCacheableMethod,
  isKeyedUrl,
  storageTimeout,
  storedHeaders,
  uncacheableReason,
  type PageCacheStatus,
  type UncacheableReason,
} from './decide.ts';
import {
  bodyKey,
  decodeBody,
  encodePage,
  makePageEntry,
  PageBodies,
  pageEntry,
  readPageRecord,
  type PageEntry,
  type PageRecord,
} from './stored-page.ts';
import { resolveOptions, type CacheViewOptions } from './options.ts';
import { BackgroundRefresher, refreshTicketOf } from './revalidate.ts';

export type { CacheViewOptions } from './options.ts';

declare module 'koa' {
  interface DefaultState {
    /** What the page cache did for this request (set by `cacheView`), for toolbars and logs. */
    cacheStatus?: PageCacheStatus;
  }
}

/** The middleware `cacheView` returns, with what it does kept inspectable. */
export interface CacheViewMiddleware {
  (ctx: Context, next: Next): Promise<void>;
  /** The key this route stores the request's page under. */
  makeCacheKey(ctx: Context): string;
  /** Resolves once no background refresh started by this middleware is running. */
  idle(): Promise<void>;
}

/** A render whose response must not be stored; never stored itself (see `shouldCache`). */
class Uncacheable {
  constructor(
    readonly reason: UncacheableReason | 'filtered',
    readonly status: number,
  ) {}
}

type Rendered = PageRecord | Uncacheable;

/**
 * Page caching for Koa: stores a route's finished 200 response (bytes, allow-listed headers, a
 * strong ETag) and replays it, with `X-Cache: HIT | MISS | BYPASS | STALE` on every response.
 * Concurrent misses of one page render it once; see the README for every rule.
 *
 * @example
 * router.get('/posts/:id', cacheView({ cache, timeout: 1800, unless: (ctx) => Boolean(ctx.state.author),
 *   tags: (ctx) => ['posts', `post:${ctx.params.id}`] }), showPost);
 */
export function cacheView(options: CacheViewOptions): CacheViewMiddleware {
  const config = resolveOptions(options);
  const bodies = PageBodies.of(config.cache);
  const owner = {};
  const refresher = new BackgroundRefresher(owner);
  const ttl = storageTimeout(config.windows);
  // A body outlives its record a little, so a record never names a body that already expired.
  const bodyTtl = ttl === 0 ? 0 : ttl + 60;
  const isRendered = (value: Rendered): boolean => !(value instanceof Uncacheable);

  function keyOf(ctx: Context): string {
    if (!config.makeCacheKey) return viewKey(config.keyPrefix, ctx.path, ctx.querystring, { queryString: config.queryString });
    const key = config.makeCacheKey(ctx);
    if (typeof key !== 'string' || key === '') throw new TypeError('cacheView: makeCacheKey must return a non-empty string');
    return key;
  }

  function tagsOf(ctx: Context): readonly string[] | undefined {
    if (!config.tags) return undefined;
    const tags = config.tags(ctx);
    if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
      throw new TypeError('cacheView: tags must return an array of strings');
    }
    return tags;
  }

  /**
   * Runs the rest of the chain once and turns its response into a storable entry, or says why
   * not. A forced render (`replacing`) whose page can no longer be stored, other than by failing,
   * also drops the old entry: the page is gone, moved or private now, and must not be served.
   */
  async function render(ctx: Context, next: Next, key: string, replacing: boolean): Promise<Rendered> {
    try {
      await next();
    } catch (error) {
      if (replacing && !isServerError(error)) await drop(ctx, key);
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
      if (replacing && ctx.status < 500) await drop(ctx, key);
      return new Uncacheable(reason ?? 'body', ctx.status);
    }
    const entry = makePageEntry(body, storedHeaders(ctx.response.headers), config.clock.now());
    const { record, text } = encodePage(entry);
    bodies.remember(entry.etag, entry.body);
    // The body goes first, so a reader that finds the record finds its body.
    await config.cache.set(bodyKey(entry.etag), text, { timeout: bodyTtl, origin: 'view', detail: ctx.path });
    return record;
  }

  async function drop(ctx: Context, key: string): Promise<void> {
    await config.cache.delete(key, { origin: 'view', detail: ctx.path });
  }

  /** The page a value read under a page key describes, with its body; undefined when there is none. */
  async function entryOf(ctx: Context, value: unknown): Promise<PageEntry | undefined> {
    const record = readPageRecord(value);
    if (!record) return undefined;
    const kept = bodies.get(record.e);
    if (kept) return pageEntry(record, kept);
    const body = decodeBody(record, await config.cache.get(bodyKey(record.e), { origin: 'view', detail: ctx.path }));
    if (!body) return undefined;
    bodies.remember(record.e, body);
    return pageEntry(record, body);
  }

  /** One lookup-or-render through the cache's single flight; `rendered` says whether this request ran the chain. */
  async function fill(ctx: Context, next: Next, key: string, forced: boolean): Promise<{ value: unknown; rendered: boolean }> {
    let rendered = false;
    const value: unknown = await config.cache.getOrSet<Rendered>(
      key,
      () => {
        rendered = true;
        return render(ctx, next, key, forced);
      },
      {
        timeout: ttl,
        tags: tagsOf(ctx),
        origin: 'view',
        detail: ctx.path,
        forcedUpdate: () => forced,
        shouldCache: isRendered,
      },
    );
    return { value, rendered };
  }

  /** Finishes the response of the request that rendered: the stored bytes and ETag, or its own uncacheable response. */
  async function finishRendered(ctx: Context, key: string, value: unknown): Promise<void> {
    const entry = await entryOf(ctx, value);
    if (!entry) {
      mark(ctx, value instanceof Uncacheable && value.reason !== 'status' ? 'BYPASS' : 'MISS');
      return;
    }
    mark(ctx, 'MISS');
    prepare(ctx, key, entry);
    replay(ctx, entry);
  }

  /**
   * Hands a page served or stored for a GET to the front, which may answer the next requests for
   * this URL. Only a URL in its keyed form (the query exactly as the key holds it) is handed over,
   * so one page has one URL there: other spellings and dropped parameters, which an outsider can
   * vary without end, are answered through the chain and never crowd the front's bounded list.
   */
  function prepare(ctx: Context, key: string, entry: PageEntry): void {
    if (!config.front || ctx.method !== 'GET' || !isKeyedUrl(ctx.url, ctx.path, ctx.querystring, config.queryString)) return;
    const { cache, windows, clock, forcedUpdate, unless } = config;
    config.front.remember(ctx, { cache, key, entry, windows, clock, forcedUpdate, unless });
  }

  /** Renders afresh (forced), falling back to `stale` when the render fails with a server error. */
  async function revalidate(ctx: Context, next: Next, key: string, stale: PageEntry | undefined): Promise<void> {
    const before = stale ? snapshotHeaders(ctx) : undefined;
    let outcome: { value: unknown; rendered: boolean };
    try {
      outcome = await fill(ctx, next, key, true);
    } catch (error) {
      if (!stale || !isServerError(error)) throw error;
      restoreHeaders(ctx, before);
      return serve(ctx, stale, 'STALE');
    }
    const { value, rendered } = outcome;
    const failed = value instanceof Uncacheable && value.status >= 500;
    if (stale && failed) {
      restoreHeaders(ctx, before);
      return serve(ctx, stale, 'STALE');
    }
    if (rendered) return finishRendered(ctx, key, value);
    const entry = await entryOf(ctx, value);
    if (entry) return serve(ctx, entry, 'HIT');
    // The request that rendered got a response that cannot be shared: this one renders its own.
    mark(ctx, 'MISS');
    await next();
  }

  async function head(ctx: Context, next: Next, key: string): Promise<void> {
    const value: unknown = await config.cache.get(key, { origin: 'view', detail: ctx.path });
    const entry = await entryOf(ctx, value);
    const state = entry && freshness(entry.storedAt, config.clock.now(), config.windows);
    if (entry && state !== 'expired') return serve(ctx, entry, state === 'fresh' ? 'HIT' : 'STALE');
    // HEAD never stores: a handler may legitimately skip the body for it.
    mark(ctx, 'MISS');
    await next();
  }

  async function cacheView(ctx: Context, next: Next): Promise<void> {
    const ticket = refreshTicketOf(ctx);
    if (
      !isCacheableMethod(ctx.method) ||
      config.unless(ctx) ||
      (!config.queryString && !config.makeCacheKey && ctx.querystring !== '')
    ) {
      mark(ctx, 'BYPASS');
      return next();
    }
    const key = keyOf(ctx);
    if (ctx.method === 'HEAD') return head(ctx, next, key);
    const mine = ticket !== undefined && ticket.owner === owner && ticket.key === key;
    if (mine || config.forcedUpdate(ctx)) return revalidate(ctx, next, key, undefined);

    const { value, rendered } = await fill(ctx, next, key, false);
    if (rendered) return finishRendered(ctx, key, value);
    if (value instanceof Uncacheable) {
      // The request that rendered got a response that cannot be shared: this one renders its own.
      mark(ctx, 'MISS');
      return next();
    }
    const entry = await entryOf(ctx, value);
    if (!entry) return revalidate(ctx, next, key, undefined);
    const state = freshness(entry.storedAt, config.clock.now(), config.windows);
    if (state === 'fresh') {
      prepare(ctx, key, entry);
      return serve(ctx, entry, 'HIT');
    }
    if (state === 'stale-while-revalidate') {
      if (!ticket) refresher.start(ctx, key);
      return serve(ctx, entry, 'STALE');
    }
    return revalidate(ctx, next, key, state === 'stale-if-error' ? entry : undefined);
  }

  return Object.assign(cacheView, { makeCacheKey: keyOf, idle: () => refresher.idle() });
}

function mark(ctx: Context, status: PageCacheStatus): void {
  ctx.state.cacheStatus = status;
  ctx.set('X-Cache', status);
}

/** Answers from a stored page: its headers, ETag and bytes, or 304 when the client has it. */
function serve(ctx: Context, entry: PageEntry, status: PageCacheStatus): void {
  ctx.status = 200;
  for (const [name, value] of entry.headers) ctx.set(name, typeof value === 'string' ? value : [...value]);
  mark(ctx, status);
  replay(ctx, entry);
}

function replay(ctx: Context, entry: PageEntry): void {
  ctx.set('ETag', entry.etag);
  if (etagMatches(ctx.get('If-None-Match'), entry.etag)) {
    ctx.status = 304;
    ctx.body = null;
    return;
  }
  ctx.body = entry.body;
}

function snapshotHeaders(ctx: Context): Record<string, string | string[]> {
  const copy: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(ctx.response.headers)) {
    if (value !== undefined) copy[name] = Array.isArray(value) ? [...value] : String(value);
  }
  return copy;
}

/** Drops what a failed render set on the response, keeping what outer middleware set before it. */
function restoreHeaders(ctx: Context, before: Record<string, string | string[]> | undefined): void {
  if (!before || ctx.headerSent) return;
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
  ctx.set(before);
}

/** Whether a thrown error is the server's fault (Koa's `status`, 500 when absent) rather than a 4xx. */
function isServerError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return true;
  const status = 'status' in error ? error.status : 'statusCode' in error ? error.statusCode : undefined;
  return typeof status !== 'number' || status >= 500;
}
