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
  fragmentKey,
  keyedQuery,
  makeKey,
  MAX_KEY_LENGTH,
  memoKey,
  stableStringify,
  viewKey,
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
export { memoVersionTag, type CachedFunction, type CachedOptions, type MemoizedFunction, type MemoizeOptions } from './memoize.ts';
export { SingleFlight } from './single-flight.ts';
export { tagKey, TagStore } from './tags.ts';
export {
  CACHE_DEFAULTS,
  cacheConfigFromEnv,
  CacheConfigError,
  createBackend,
  createCache,
  describeCacheConfig,
  parseSize,
  type CacheConfig,
  type CacheRedisConfig,
  type CacheType,
  type CreateCacheDeps,
} from './config.ts';
export { BaseBackend, deleteManyVia, getManyVia, incrVia, setManyVia } from './backends/base.ts';
export { NullBackend } from './backends/null.ts';
export { MemoryBackend, MemoryStore, type MemoryBackendOptions, type MemoryStoreOptions } from './backends/memory.ts';
export { FilesystemBackend, type FilesystemBackendOptions } from './backends/filesystem.ts';
export {
  isRedisOutage,
  RedisBackend,
  RedisTimeoutError,
  RedisUnavailableError,
  type RedisBackendOptions,
} from './backends/redis.ts';
export {
  createRedisClient,
  groupBySlot,
  keySlot,
  topologyOf,
  type RedisAddress,
  type RedisClient,
  type RedisTopologyOptions,
} from './backends/redis-topology.ts';
export { RedisCoherenceLink, type RedisCoherenceLinkOptions } from './backends/redis-pubsub.ts';
export { createRedisStack, type RedisStackOptions } from './backends/redis-stack.ts';
export {
  DEFAULT_NEAR_MAX_BYTES,
  DEFAULT_NEAR_TTL,
  LayeredBackend,
  type ExpiringReads,
  type LayeredBackendOptions,
} from './backends/layered.ts';
export { Coherence, type CoherenceOptions, type CoherenceStats } from './coherence.ts';
export { coherenceChannels, SEQUENCE_KEY, type CoherenceLink, type Invalidation, type LinkHandlers } from './coherence-wire.ts';
export { HeardSequence } from './coherence-sequence.ts';
export {
  COMPARE_AND_DELETE,
  distributedFlight,
  lockKey,
  takeLock,
  type DistributedFlightOptions,
  type LockCommands,
} from './lock.ts';
export {
  BreakerOpenError,
  CircuitBreaker,
  withBreaker,
  type BreakerBackend,
  type BreakerOptions,
  type BreakerState,
} from './breaker.ts';
export { FragmentCacheExtension } from './nunjucks/fragment-tag.ts';
export { renderTemplate } from './nunjucks/render.ts';
