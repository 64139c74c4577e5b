import { Cache } from '../cache.ts';
import { FilesystemBackend } from '../backends/filesystem.ts';
import { MemoryBackend } from '../backends/memory.ts';
import { NullBackend } from '../backends/null.ts';
import type { CacheLogger } from '../telemetry.ts';
import type { AnyBackend } from '../backends/capabilities.ts';
import { systemClock, type Clock } from '../types.ts';
import type { CacheConfig } from './cache-config.ts';

/** Collaborators of {@link createBackend} and {@link createCache}. */
export interface CreateCacheDeps {
  clock?: Clock;
  /** Where warnings go (default the console). */
  logger?: CacheLogger;
  /** Passed to the Cache: re-raise backend errors (tests). */
  throwOnErrors?: boolean;
}

/**
 * The backend a configuration names. Redis is imported only when chosen, wrapped in a circuit
 * breaker and fronted by a coherent near cache (distributed/redis/stack.ts); the filesystem backend
 * throws here (naming CACHE_DIR) if its folder is unwritable.
 */
export async function createBackend(config: CacheConfig, deps: CreateCacheDeps = {}): Promise<AnyBackend> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? console;
  switch (config.type) {
    case 'null':
      if (!config.noNullWarning) {
        logger.warn('cache: CACHE_TYPE=null, nothing is cached (set CACHE_NO_NULL_WARNING=1 to silence this)');
      }
      return new NullBackend();
    case 'memory':
      return new MemoryBackend({ prefix: config.keyPrefix, clock, threshold: config.threshold, maxBytes: config.maxBytes });
    case 'filesystem':
      return new FilesystemBackend({ dir: config.dir, prefix: config.keyPrefix, clock, threshold: config.threshold });
    case 'redis': {
      // Behind a circuit breaker, with the coherent near cache unless CACHE_NEAR_MAX_BYTES=0.
      const { createRedisStack } = await import('../distributed/index.ts');
      const { nearMaxBytes, nearTtl } = config;
      return createRedisStack({ ...config.redis, prefix: config.keyPrefix, clock, logger, nearMaxBytes, nearTtl });
    }
  }
}

/** A {@link Cache} over the configured backend, with the configured default timeout and jitter. */
export async function createCache(config: CacheConfig, deps: CreateCacheDeps = {}): Promise<Cache> {
  const backend = await createBackend(config, deps);
  return new Cache({
    backend,
    defaultTimeout: config.defaultTimeout,
    jitter: config.jitter,
    clock: deps.clock,
    logger: deps.logger,
    throwOnErrors: deps.throwOnErrors,
  });
}
