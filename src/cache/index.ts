// The public surface of Kiln's caching library: re-exports only.

export { Cache, type CacheOptions, type GetOrSetOptions } from './cache.ts';
export {
  systemClock,
  type BackendStats,
  type CacheBackend,
  type CacheLock,
  type CacheEvent,
  type CacheOp,
  type CacheOrigin,
  type CacheResult,
  type Clock,
  type GetOptions,
  type PeekedEntry,
  type Seconds,
  type SetOptions,
} from './types.ts';
export type { CacheCounters, CacheHealth, CacheLogger, CacheStats } from './telemetry.ts';
export {
  canonicalQuery,
  COHERENCE_SEQUENCE_KEY,
  coherenceChannels,
  fragmentKey,
  HEALTH_PROBE_KEY,
  isVersionKey,
  keyedQuery,
  lockKey,
  makeKey,
  MAX_KEY_LENGTH,
  memoKey,
  memoVersionTag,
  pageBodyKey,
  positionalFragmentKey,
  stableStringify,
  tagKey,
  viewKey,
  type CoherenceChannels,
  type ViewKeyOptions,
} from './keys.ts';
export {
  CODEC_VERSION,
  CorruptEntryError,
  decodeEntry,
  encodeNotFound,
  encodeValue,
  type DecodedEntry,
  type TagVersions,
} from './codec.ts';
export { type CachedFunction, type CachedOptions, type MemoizedFunction, type MemoizeOptions } from './memoize.ts';
export { distributedFlight, SingleFlight, type DistributedFlightOptions } from './single-flight.ts';
export { BoundedMap, type BoundedMapOptions } from './bounded-map.ts';
export { CacheMetrics, METRICS_CONTENT_TYPE } from './metrics/cache-metrics.ts';
export { combineFamilies, isPerProcess, labelPerProcess, renderFamilies, type GaugeSample, type MetricFamily } from './metrics/families.ts';
export type { CounterSnapshot, HistogramSnapshot, Labels } from './metrics/registry.ts';
export { type RequestReport, type RequestReporter } from './metrics/request-reporter.ts';
export { TagStore } from './tags.ts';
export { CACHE_DEFAULTS } from './defaults.ts';
export { ConfigError, EnvReader, parseSize, type Env, type HostPort } from './config/env.ts';
export { cacheConfigFromEnv, describeCacheConfig, type CacheConfig, type CacheRedisConfig, type CacheType } from './config/cache-config.ts';
export { createBackend, createCache, type CreateCacheDeps } from './config/create.ts';
export {
  type AnyBackend,
  type BackendCapabilities,
  type BreakerState,
  type BreakerStatus,
  type ChangeNotifications,
  type DistributedLocks,
  type ExpiringReads,
  type SyncReads,
} from './backends/capabilities.ts';
export { normalizeBackend, type NormalizedBackend } from './backends/normalize.ts';
export { NullBackend } from './backends/null.ts';
export { MemoryBackend, MemoryStore, type MemoryBackendOptions, type MemoryStoreOptions } from './backends/memory.ts';
export { FilesystemBackend, type FilesystemBackendOptions } from './backends/filesystem.ts';
export {
  HttpPurger,
  purgeOpEvent,
  type HttpPurgeOptions,
  type PurgeAttempt,
  type PurgeEvent,
  type PurgeReport,
  type PurgeTimers,
} from './http-purge.ts';
export { PURGE_ALL_TAG, sendPurgeRequest, type PurgeOutcome, type PurgeRequest } from './purge-request.ts';
export { FragmentCacheExtension } from './nunjucks/fragment-tag.ts';
export { renderTemplate } from './nunjucks/render.ts';
