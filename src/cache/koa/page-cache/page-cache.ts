import type { Cache } from '../../cache.ts';
import type { CacheViewOptions } from './options.ts';
import { PageBodies } from './page-bodies.ts';
import { PreparedPages, type PreparedPagesOptions } from './prepared-pages.ts';
import { BackgroundRevalidation } from './revalidate.ts';
import type { ViewShared } from './route.ts';
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

  constructor(options: PageCacheOptions) {
    if (!options?.cache || typeof options.cache.getOrSet !== 'function') throw new TypeError('createPageCache: `cache` must be a Cache');
    this.cache = options.cache;
    this.bodies = PageBodies.of(options.cache);
    this.prepared = options.earlyAnswers ? new PreparedPages(options.earlyAnswers) : undefined;
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
