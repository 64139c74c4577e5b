// The distributed layer of Kiln's caching library, kept out of the root entry so that importing
// the cache does not load ioredis: re-exports only.

export {
  escapeGlob,
  isRedisOutage,
  RedisBackend,
  RedisTimeoutError,
  RedisUnavailableError,
  type RedisBackendOptions,
} from './redis/backend.ts';
export {
  createRedisClient,
  groupBySlot,
  keySlot,
  topologyOf,
  type RedisAddress,
  type RedisClient,
  type RedisTopologyOptions,
} from './redis/topology.ts';
export { RedisCoherenceLink, type RedisCoherenceLinkOptions } from './redis/pubsub.ts';
export { createRedisStack, type RedisStackOptions } from './redis/stack.ts';
export { COMPARE_AND_DELETE, takeLock, type LockCommands } from './redis/lock.ts';
export {
  DEFAULT_NEAR_MAX_BYTES,
  DEFAULT_NEAR_TTL,
  NearCacheBackend,
  type NearCacheBackendOptions,
} from './near-cache.ts';
export { Coherence, type CoherenceOptions, type CoherenceStats, type Schedule } from './coherence/coherence.ts';
export {
  encodeAnnouncement,
  parseAnnouncement,
  type Announcement,
  type CoherenceLink,
  type Invalidation,
  type LinkHandlers,
} from './coherence/wire.ts';
export { HeardSequence } from './coherence/sequence.ts';
export {
  BreakerGuardedBackend,
  BreakerOpenError,
  CircuitBreaker,
  withBreaker,
  type BreakerOptions,
  type BreakerState,
} from './breaker.ts';
