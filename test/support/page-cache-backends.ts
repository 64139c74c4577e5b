import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SHARED_REDIS_URL, requireRedis } from './services.ts';

/** The cache configurations a blog suite can run on. */
export type PageCacheVariant = 'memory' | 'filesystem' | 'redis' | 'redis-no-near';

/** One row of a suite's `describe.each`: the configuration to start a test app with. */
export interface PageCacheBackend {
  /** The label in test names (`redis alone` for `redis-no-near`). */
  readonly name: string;
  readonly variant: PageCacheVariant;
  /** A fresh configuration each call: its own cache folder or Redis key prefix (for an app in this process or a server process). */
  env(): Record<string, string>;
  /** True when the backend's service is absent outside CI (a loud warning was printed). */
  readonly skip: boolean;
}

/** Options of {@link pageCacheBackends}. */
export interface PageCacheBackendsOptions {
  /** A folder the suite removes afterwards; filesystem caches go in fresh folders under it. */
  scratch: string;
  /** Which configurations, in order (default: memory, filesystem, redis). */
  variants?: readonly PageCacheVariant[];
  /** Variables added to every configuration (an author name, a Redis command timeout…). */
  env?: Readonly<Record<string, string>>;
}

const NAMES: Record<PageCacheVariant, string> = {
  memory: 'memory',
  filesystem: 'filesystem',
  redis: 'redis',
  'redis-no-near': 'redis alone',
};

/**
 * The backends a blog suite runs on, for `describe.each`. It checks the shared Redis once when a
 * Redis variant is asked for: absent, it fails under CI and is a loud skip elsewhere.
 */
export async function pageCacheBackends(options: PageCacheBackendsOptions): Promise<PageCacheBackend[]> {
  const variants = options.variants ?? ['memory', 'filesystem', 'redis'];
  const needsRedis = variants.some((variant) => variant.startsWith('redis'));
  const redisUp = needsRedis ? await requireRedis() : false;
  const cacheEnv = (variant: PageCacheVariant): Record<string, string> => {
    switch (variant) {
      case 'memory':
        return { CACHE_TYPE: 'memory' };
      case 'filesystem':
        return { CACHE_TYPE: 'filesystem', CACHE_DIR: join(options.scratch, randomUUID()) };
      case 'redis':
        return { CACHE_TYPE: 'redis', CACHE_REDIS_URL: SHARED_REDIS_URL, CACHE_KEY_PREFIX: `kiln-test-${randomUUID()}:` };
      case 'redis-no-near':
        return { ...cacheEnv('redis'), CACHE_NEAR_MAX_BYTES: '0' };
    }
  };
  return variants.map((variant) => ({
    name: NAMES[variant],
    variant,
    env: () => ({ ...cacheEnv(variant), ...options.env }),
    skip: variant.startsWith('redis') && !redisUp,
  }));
}
