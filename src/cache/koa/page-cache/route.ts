import type { Context, Next } from 'koa';
import type { Cache } from '../../cache.ts';
import { viewKey } from '../../keys.ts';
import type { Seconds } from '../../types.ts';
import { COMPRESSION_THRESHOLD, smallestCompressor, type Compressor } from '../compression.ts';
import { storageTimeout } from './decide.ts';
import { resolveOptions, type CacheViewConfig, type CacheViewOptions } from './options.ts';
import { PageBodies } from './page-bodies.ts';
import type { PreparedPages } from './prepared-pages.ts';
import { BackgroundRevalidation } from './revalidate.ts';

/** What the routes of one page cache share (a `PageCache`, page-cache.ts). */
export interface ViewShared {
  /** Recent bodies by ETag. */
  readonly bodies: PageBodies;
  /** Pages prepared for early answers; none when nothing answers early. */
  readonly prepared: PreparedPages | undefined;
  /** The background renders of stale pages. */
  readonly revalidation: BackgroundRevalidation;
  /** How stored pages get their compressed forms; undefined when they get none. */
  readonly compression: PageCompression | undefined;
}

/** How the page cache makes the compressed forms of a page it stores (once, at store). */
export interface PageCompression {
  /** Makes one form (default: the smallest output, as it is made once and served many times). */
  readonly compressor: Compressor;
  /** Bodies below this many bytes get no compressed forms (default 1 KB). */
  readonly threshold: number;
}

/** The page compression of a page cache made without options: brotli and gzip at their smallest, from 1 KB. */
export const DEFAULT_PAGE_COMPRESSION: PageCompression = { compressor: smallestCompressor, threshold: COMPRESSION_THRESHOLD };

/** One cached route: its options checked once, and what it shares with the other routes of its page cache. */
export interface ViewRoute extends ViewShared {
  readonly config: CacheViewConfig;
  /** Seconds the backend keeps a record: long enough for the stale windows (0 = no expiry). */
  readonly ttl: Seconds;
  /** Seconds a body is kept: a little longer than its record, so a record never names an expired body. */
  readonly bodyTtl: Seconds;
}

const defaults = new WeakMap<Cache, ViewShared>();

/** A route of the page cache `shared` belongs to, or of its cache's default one (no early answers); throws on bad options. */
export function makeRoute(options: CacheViewOptions, shared: ViewShared | undefined): ViewRoute {
  const config = resolveOptions(options);
  const ttl = storageTimeout(config.windows);
  const { bodies, prepared, revalidation, compression } = shared ?? defaultShared(config.cache);
  return { config, bodies, prepared, revalidation, compression, ttl, bodyTtl: ttl === 0 ? 0 : ttl + 60 };
}

function defaultShared(cache: Cache): ViewShared {
  let shared = defaults.get(cache);
  if (!shared) {
    shared = { bodies: PageBodies.of(cache), prepared: undefined, revalidation: new BackgroundRevalidation(), compression: DEFAULT_PAGE_COMPRESSION };
    defaults.set(cache, shared);
  }
  return shared;
}

/** Renders the page: the route's `render` when it has one, else the rest of the chain. */
export function renderPage(route: ViewRoute, ctx: Context, next: Next): Promise<unknown> {
  const { render } = route.config;
  return render ? Promise.resolve(render(ctx, next)) : next();
}

/** The key a request's page is stored under. */
export function keyOf(route: ViewRoute, ctx: Context): string {
  const { config } = route;
  if (!config.makeCacheKey) return viewKey(config.keyPrefix, ctx.path, ctx.querystring, { queryString: config.queryString });
  const key = config.makeCacheKey(ctx);
  if (typeof key !== 'string' || key === '') throw new TypeError('cacheView: makeCacheKey must return a non-empty string');
  return key;
}

/** The tags of a request's page, checked. */
export function tagsOf(route: ViewRoute, ctx: Context): readonly string[] | undefined {
  if (!route.config.tags) return undefined;
  const tags = route.config.tags(ctx);
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new TypeError('cacheView: tags must return an array of strings');
  }
  return tags;
}
