import type { Cache } from '../../cache.ts';
import type { CacheViewOptions } from './options.ts';
import { PageBodies } from './page-bodies.ts';
import { PreparedPages, type PreparedPagesOptions } from './prepared-pages.ts';
import { BackgroundRevalidation } from './revalidate.ts';
import { DEFAULT_PAGE_COMPRESSION, type PageCompression, type ViewShared } from './route.ts';
import { createView, type CacheViewMiddleware } from './view.ts';

/** Options of {@link createPageCache}. */
export interface PageCacheOptions {
  /** The cache pages are stored in. */
  cache: Cache;
  /**
   * Prepare the pages served to requests this allows, so the next request for the same URL can
   * be answered before the middleware chain (see prepared-pages.ts); default: no early answers.
   */
  earlyAnswers?: PreparedPagesOptions;
  /**
   * How a stored page gets its brotli and gzip forms, made once when it is stored and kept with
   * it, so a hit never compresses: `compressor` (default: the smallest output) and `threshold`
   * in bytes (default 1024; smaller bodies get none). `false`: pages are stored and served in
   * identity only.
   */
  compression?: Partial<PageCompression> | false;
}

/** Options of one route of a {@link PageCache}: `cacheView`'s, with the page cache's `cache`. */
export type PageViewOptions = Omit<CacheViewOptions, 'cache'>;

/**
 * The page cache of an app: the routes made by `view(...)` share their bodies in memory, their
 * background renders and the pages prepared for early answers.
 *
 * @example
 * const pages = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => !ctx.get('Cookie') } });
 * router.get('/posts/:id', pages.view({ timeout: 1800, tags: (ctx) => [`post:${ctx.params.id}`] }), showPost);
 */
export class PageCache implements ViewShared {
  readonly cache: Cache;
  readonly bodies: PageBodies;
  readonly prepared: PreparedPages | undefined;
  readonly revalidation = new BackgroundRevalidation();
  readonly compression: PageCompression | undefined;

  constructor(options: PageCacheOptions) {
    if (!options?.cache || typeof options.cache.getOrSet !== 'function') throw new TypeError('createPageCache: `cache` must be a Cache');
    this.cache = options.cache;
    this.bodies = PageBodies.of(options.cache);
    this.prepared = options.earlyAnswers ? new PreparedPages(options.earlyAnswers) : undefined;
    this.compression = pageCompression(options.compression);
  }

  /** The caching middleware of one route (see `cacheView` for the options). */
  view(options: PageViewOptions): CacheViewMiddleware {
    return createView({ ...options, cache: this.cache }, this);
  }

  /** Resolves once no background render is running. */
  idle(): Promise<void> {
    return this.revalidation.idle();
  }
}

/** Builds an app's page cache (see {@link PageCache}). */
export function createPageCache(options: PageCacheOptions): PageCache {
  return new PageCache(options);
}

/** `compression` checked once, with its defaults filled in. */
function pageCompression(options: Partial<PageCompression> | false | undefined): PageCompression | undefined {
  if (options === false) return undefined;
  const compression: PageCompression = {
    compressor: options?.compressor ?? DEFAULT_PAGE_COMPRESSION.compressor,
    threshold: options?.threshold ?? DEFAULT_PAGE_COMPRESSION.threshold,
  };
  if (typeof compression.compressor !== 'function') throw new TypeError('createPageCache: `compression.compressor` must be a function');
  const { threshold } = compression;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
    throw new TypeError(`createPageCache: \`compression.threshold\` must be a non-negative number of bytes, got ${String(threshold)}`);
  }
  return compression;
}
