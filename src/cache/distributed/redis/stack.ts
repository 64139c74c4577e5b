import type { AnyBackend } from '../../backends/capabilities.ts';
import type { CacheLogger } from '../../telemetry.ts';
import type { Seconds } from '../../types.ts';
import { withBreaker } from '../breaker.ts';
import { Coherence } from '../coherence/coherence.ts';
import { NearCacheBackend } from '../near-cache.ts';
import { RedisBackend, isRedisOutage, type RedisBackendOptions } from './backend.ts';

/** Options of {@link createRedisStack}: the Redis connection plus the near cache's bounds. */
export interface RedisStackOptions extends RedisBackendOptions {
  /** Most bytes of the in-process near cache; 0 = no near cache. */
  nearMaxBytes: number;
  /** Longest a near copy lives, in seconds. */
  nearTtl: Seconds;
  /** Where the breaker and coherence log their state changes. */
  logger: CacheLogger;
}

/**
 * What `CACHE_TYPE=redis` runs on: the Redis backend (single, Sentinel or Cluster) behind a
 * circuit breaker, its distributed lock going through the same breaker, and, unless
 * `nearMaxBytes` is 0, a coherent near cache in front of it (near-cache.ts + coherence/).
 */
export function createRedisStack(options: RedisStackOptions): AnyBackend {
  const { nearMaxBytes, nearTtl, logger, ...connection } = options;
  const redis = new RedisBackend(connection);
  // The breaker's pause runs on the wall clock: a test's frozen clock would keep it open.
  const breaker = withBreaker(redis, {
    isFailure: isRedisOutage,
    onStateChange: (state) => logger.warn(`cache: redis circuit breaker ${state}`),
  });
  if (nearMaxBytes === 0) return breaker;
  return new NearCacheBackend({
    remote: breaker,
    maxBytes: nearMaxBytes,
    maxTtl: nearTtl,
    clock: connection.clock,
    coherence: new Coherence({ link: redis.coherenceLink(), scope: connection.prefix, logger }),
    reads: { getManyWithTtl: (keys) => breaker.breaker.run(() => redis.getManyWithTtl(keys)) },
  });
}
