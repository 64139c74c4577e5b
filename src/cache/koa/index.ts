// The Koa side of Kiln's caching library (`kiln/cache/koa`): re-exports only.

export {
  cacheView,
  createPageCache,
  etagMatches,
  isCacheableResponse,
  isKeyedUrl,
  loadPage,
  NOT_CACHED_TEXT,
  pageCacheReasonText,
  PageBodies,
  PageCache,
  PreparedPages,
  STORED_HEADERS,
  uncacheableReason,
  type CacheViewMiddleware,
  type CacheViewOptions,
  type Freshness,
  type FreshnessWindows,
  type PageBodiesOptions,
  type PageCacheOptions,
  type PageCompression,
  type PageForm,
  type PageCacheOutcome,
  type PageCacheReason,
  type PageCacheStatus,
  type PageViewOptions,
  type PreparablePage,
  type PreparedPagesOptions,
  type ResponseFacts,
  type StoredHeader,
  type StoredPage,
  type StoredPageRecord,
  type StoredFormRecord,
  type UncacheableReason,
} from './page-cache/index.ts';
export {
  REQUEST_ID_HEADER,
  useRequestFrame,
  type EarlyAnswer,
  type EarlyAnswers,
  type RequestFrameOptions,
  type RequestInspector,
  type RequestReport,
  type RequestReporter,
} from './request-frame.ts';
export { matchedRoute } from './route-name.ts';
export {
  COMPRESSIONS,
  isCompression,
  negotiateEncoding,
  parseAcceptEncoding,
  type Compression,
  type ContentCoding,
} from './accept-encoding.ts';
export {
  codingFor,
  COMPRESSION_THRESHOLD,
  fastCompressor,
  isCompressibleType,
  smallestCompressor,
  type Compressor,
} from './compression.ts';
export { responseCompression, type ResponseCompression, type ResponseCompressionOptions } from './response-compression.ts';
export { ipAllowed, isLoopbackClient, LOOPBACK_IPS, normalizeIp, trustedClientIp } from './client-address.ts';
