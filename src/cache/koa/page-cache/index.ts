// Page caching for Koa: re-exports only (how a request flows is described in view.ts).

export { cacheView, type CacheViewMiddleware } from './view.ts';
export type { CacheViewOptions } from './options.ts';
export {
  etagMatches,
  isCacheableResponse,
  isKeyedUrl,
  STORED_HEADERS,
  uncacheableReason,
  type Freshness,
  type FreshnessWindows,
  type PageCacheOutcome,
  type PageCacheReason,
  type PageCacheStatus,
  type ResponseFacts,
  type UncacheableReason,
} from './decide.ts';
export { NOT_CACHED_TEXT, pageCacheReasonText } from './reasons.ts';
export { PageBodies, type PageBodiesOptions } from './page-bodies.ts';
export { loadPage, type PageForm, type StoredFormRecord, type StoredHeader, type StoredPage, type StoredPageRecord } from './stored-page.ts';
export { createPageCache, PageCache, type PageCacheOptions, type PageViewOptions } from './page-cache.ts';
export type { PageCompression } from './route.ts';
export { PreparedPages, type PreparablePage, type PreparedPagesOptions } from './prepared-pages.ts';
