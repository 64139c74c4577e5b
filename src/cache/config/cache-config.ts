import { CACHE_DEFAULTS } from '../defaults.ts';
import type { Seconds } from '../types.ts';
import { ConfigError, EnvReader, type Env, type HostPort } from './env.ts';

/** The backends `CACHE_TYPE` can name. */
export type CacheType = 'null' | 'memory' | 'filesystem' | 'redis';

/** Where the Redis backend connects; `url` wins over host/port/password/db. */
export interface CacheRedisConfig {
  url?: string;
  host: string;
  port: number;
  password?: string;
  db: number;
  /** Longest a single Redis command may take, in milliseconds. */
  commandTimeoutMs: number;
  /** `CACHE_REDIS_SENTINELS`: sentinels to ask for the master (with `sentinelMaster`). */
  sentinels?: HostPort[];
  /** `CACHE_REDIS_SENTINEL_MASTER`: the master name the sentinels monitor. */
  sentinelMaster?: string;
  /** `CACHE_REDIS_CLUSTER`: seed nodes of a Redis Cluster. */
  cluster?: HostPort[];
}

/** The cache's configuration, read from `CACHE_*` variables by {@link cacheConfigFromEnv}. */
export interface CacheConfig {
  type: CacheType;
  /** `env` when `CACHE_TYPE` named the backend, `default` when chosen from `NODE_ENV` (log it). */
  chosenBy: 'env' | 'default';
  defaultTimeout: Seconds;
  /** Prefix of every key the backend writes; never empty, so `clear()` stays within it. */
  keyPrefix: string;
  /** Most entries (memory, filesystem). */
  threshold: number;
  /** Most bytes (memory). */
  maxBytes: number;
  /** Folder of the filesystem backend. */
  dir: string;
  /** Fraction 0..1 of random shortening applied to timeouts. */
  jitter: number;
  /** Silences the warning logged when the null backend is in use. */
  noNullWarning: boolean;
  redis: CacheRedisConfig;
  /** Most bytes of the near cache in front of Redis; 0 = none (redis only). */
  nearMaxBytes: number;
  /** Longest a near copy lives, in seconds (redis only). */
  nearTtl: Seconds;
}

const TYPES: Record<string, CacheType> = {
  null: 'null',
  nullcache: 'null',
  memory: 'memory',
  simple: 'memory',
  simplecache: 'memory',
  filesystem: 'filesystem',
  filesystemcache: 'filesystem',
  redis: 'redis',
  rediscache: 'redis',
};

/** The Sentinel and Cluster settings, checked against each other and the single-server ones. */
function topology(read: EnvReader, url: string | undefined, db: number): Pick<CacheRedisConfig, 'sentinels' | 'sentinelMaster' | 'cluster'> {
  const sentinels = read.addresses('CACHE_REDIS_SENTINELS');
  const sentinelMaster = read.present('CACHE_REDIS_SENTINEL_MASTER');
  const cluster = read.addresses('CACHE_REDIS_CLUSTER');
  if (cluster && sentinels) throw new ConfigError('CACHE_REDIS_CLUSTER', 'cannot be combined with CACHE_REDIS_SENTINELS');
  if (sentinels && !sentinelMaster) throw new ConfigError('CACHE_REDIS_SENTINEL_MASTER', 'is required with CACHE_REDIS_SENTINELS');
  if (sentinelMaster && !sentinels) throw new ConfigError('CACHE_REDIS_SENTINELS', 'is required with CACHE_REDIS_SENTINEL_MASTER');
  const name = cluster ? 'CACHE_REDIS_CLUSTER' : 'CACHE_REDIS_SENTINELS';
  if ((cluster || sentinels) && url !== undefined) {
    throw new ConfigError(name, 'cannot be combined with CACHE_REDIS_URL (give the password in CACHE_REDIS_PASSWORD)');
  }
  if (cluster && db !== 0) throw new ConfigError('CACHE_REDIS_DB', 'must be 0 with CACHE_REDIS_CLUSTER (a Cluster has one database)');
  return { ...(sentinels && { sentinels, sentinelMaster }), ...(cluster && { cluster }) };
}

/** `CACHE_TYPE`, or the default for `nodeEnv` when unset. */
function cacheType(read: EnvReader, nodeEnv: string): CacheType {
  const named = read.present('CACHE_TYPE');
  if (named === undefined) return nodeEnv === 'test' ? 'null' : 'memory';
  const known = TYPES[named.toLowerCase()];
  if (!known) throw new ConfigError('CACHE_TYPE', `unknown cache type "${named}" (expected null, memory, filesystem or redis)`);
  return known;
}

/**
 * Reads the `CACHE_*` variables. Without `CACHE_TYPE`: null under `NODE_ENV=test` (without the
 * null warning), memory otherwise, with `chosenBy: 'default'` so a production start can say so.
 * Throws {@link ConfigError} naming the first bad variable.
 */
export function cacheConfigFromEnv(env: Env, options: { nodeEnv: string }): CacheConfig {
  const read = new EnvReader(env);
  const defaults = CACHE_DEFAULTS;
  const type = cacheType(read, options.nodeEnv);
  const chosenBy = read.present('CACHE_TYPE') === undefined ? 'default' : 'env';
  // Read as set: spaces in a prefix are part of it.
  const keyPrefix = read.raw('CACHE_KEY_PREFIX') ?? defaults.cache.keyPrefix;
  if (keyPrefix.trim() === '') throw new ConfigError('CACHE_KEY_PREFIX', 'must not be empty: clear() removes everything under it');
  // Read as set: a password may begin or end with a space.
  const password = read.raw('CACHE_REDIS_PASSWORD') || undefined;
  const url = read.redisUrl('CACHE_REDIS_URL');
  const db = read.integer('CACHE_REDIS_DB', { fallback: defaults.redis.db });
  return {
    type,
    chosenBy,
    defaultTimeout: read.integer('CACHE_DEFAULT_TIMEOUT', { fallback: defaults.cache.defaultTimeout }),
    keyPrefix,
    threshold: read.integer('CACHE_THRESHOLD', { fallback: defaults.memory.threshold, min: 1 }),
    maxBytes: read.size('CACHE_MAX_BYTES', defaults.memory.maxBytes),
    dir: read.string('CACHE_DIR', defaults.filesystem.dir),
    jitter: read.fraction('CACHE_JITTER', defaults.cache.jitter),
    noNullWarning: read.flag('CACHE_NO_NULL_WARNING', chosenBy === 'default' && options.nodeEnv === 'test'),
    redis: {
      url,
      host: read.string('CACHE_REDIS_HOST', defaults.redis.host),
      port: read.integer('CACHE_REDIS_PORT', { fallback: defaults.redis.port, min: 1, max: 65535 }),
      password,
      db,
      commandTimeoutMs: read.integer('CACHE_REDIS_TIMEOUT_MS', { fallback: defaults.redis.commandTimeoutMs, min: 1 }),
      ...topology(read, url, db),
    },
    nearMaxBytes: read.size('CACHE_NEAR_MAX_BYTES', defaults.near.maxBytes, { zero: true }),
    nearTtl: read.integer('CACHE_NEAR_TTL', { fallback: defaults.near.maxTtl, min: 1 }),
  };
}

/** A one-line description for logs, with any Redis password masked. */
export function describeCacheConfig(config: CacheConfig): string {
  const how = config.chosenBy === 'default' ? 'chosen by default; set CACHE_TYPE to choose' : 'from CACHE_TYPE';
  let where = '';
  if (config.type === 'filesystem') where = ` in ${config.dir}`;
  if (config.type === 'redis') {
    if (config.redis.url !== undefined) {
      const url = new URL(config.redis.url);
      if (url.password) url.password = '***';
      where = ` at ${url.href}`;
    } else where = ` at ${config.redis.host}:${config.redis.port}/${config.redis.db}`;
    const list = (nodes: HostPort[]): string => nodes.map(({ host, port }) => `${host}:${port}`).join(',');
    if (config.redis.cluster) where = ` on the cluster ${list(config.redis.cluster)}`;
    if (config.redis.sentinels) where = ` at master "${config.redis.sentinelMaster}" of the sentinels ${list(config.redis.sentinels)}`;
    where += config.nearMaxBytes === 0 ? ', no near cache' : `, near cache ${config.nearMaxBytes} bytes (copies live at most ${config.nearTtl} s)`;
  }
  return `cache: ${config.type}${where}, prefix ${JSON.stringify(config.keyPrefix)}, default timeout ${config.defaultTimeout} s (${how})`;
}
