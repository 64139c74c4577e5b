import { FilesystemBackend } from './backends/filesystem.ts';
import { MemoryBackend } from './backends/memory.ts';
import { NullBackend } from './backends/null.ts';
import { Cache } from './cache.ts';
import { CACHE_DEFAULTS } from './defaults.ts';
import type { RedisAddress } from './backends/redis-topology.ts';
import type { CacheLogger } from './telemetry.ts';
import { systemClock, type CacheBackend, type Clock, type Seconds } from './types.ts';

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
  sentinels?: RedisAddress[];
  /** `CACHE_REDIS_SENTINEL_MASTER`: the master name the sentinels monitor. */
  sentinelMaster?: string;
  /** `CACHE_REDIS_CLUSTER`: seed nodes of a Redis Cluster. */
  cluster?: RedisAddress[];
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

/** A bad `CACHE_*` value; the message starts with the variable's name. */
export class CacheConfigError extends Error {
  override readonly name = 'CacheConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
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

type Env = Record<string, string | undefined>;

function present(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new CacheConfigError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function fraction(env: Env, name: string, fallback: number): number {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || value > 1) throw new CacheConfigError(name, `expected a fraction from 0 to 1, got "${raw}"`);
  return value;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses a size: plain bytes or a binary multiple (`64MB`, `64M`, `64MiB`, `512kb`, `1g`). */
export function parseSize(name: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(raw.trim());
  if (!match) throw new CacheConfigError(name, `expected bytes or a size such as 64MB, got "${raw}"`);
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2].toLowerCase()]);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new CacheConfigError(name, `expected a positive size, got "${raw}"`);
  return bytes;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = present(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new CacheConfigError(name, `expected 1 or 0, got "${raw}"`);
}

function redisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // The value is never echoed: it may carry the password.
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CacheConfigError('CACHE_REDIS_URL', 'is not a valid URL (expected redis://[:password@]host[:port][/db])');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new CacheConfigError('CACHE_REDIS_URL', `must start with redis:// or rediss://, not ${url.protocol}//`);
  }
  if (!url.hostname) throw new CacheConfigError('CACHE_REDIS_URL', 'has no host');
  if (!/^\/?(\d+)?$/.test(url.pathname)) throw new CacheConfigError('CACHE_REDIS_URL', 'database must be a number, as /0');
  return raw;
}

/** Parses `host:port,host:port…` (IPv6 hosts in brackets), naming `name` when malformed. */
function addresses(env: Env, name: string): RedisAddress[] | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  return raw.split(',').map((item) => {
    const match = /^\s*\[?([^\s[\]]+?)\]?:(\d{1,5})\s*$/.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new CacheConfigError(name, `expected host:port[,host:port…], got "${item.trim()}"`);
    return { host: match[1], port };
  });
}

/** The Sentinel and Cluster settings, checked against each other and the single-server ones. */
function topology(env: Env, url: string | undefined, db: number): Pick<CacheRedisConfig, 'sentinels' | 'sentinelMaster' | 'cluster'> {
  const sentinels = addresses(env, 'CACHE_REDIS_SENTINELS');
  const sentinelMaster = present(env, 'CACHE_REDIS_SENTINEL_MASTER');
  const cluster = addresses(env, 'CACHE_REDIS_CLUSTER');
  if (cluster && sentinels) throw new CacheConfigError('CACHE_REDIS_CLUSTER', 'cannot be combined with CACHE_REDIS_SENTINELS');
  if (sentinels && !sentinelMaster) throw new CacheConfigError('CACHE_REDIS_SENTINEL_MASTER', 'is required with CACHE_REDIS_SENTINELS');
  if (sentinelMaster && !sentinels) throw new CacheConfigError('CACHE_REDIS_SENTINELS', 'is required with CACHE_REDIS_SENTINEL_MASTER');
  const name = cluster ? 'CACHE_REDIS_CLUSTER' : 'CACHE_REDIS_SENTINELS';
  if ((cluster || sentinels) && url !== undefined) {
    throw new CacheConfigError(name, 'cannot be combined with CACHE_REDIS_URL (give the password in CACHE_REDIS_PASSWORD)');
  }
  if (cluster && db !== 0) throw new CacheConfigError('CACHE_REDIS_DB', 'must be 0 with CACHE_REDIS_CLUSTER (a Cluster has one database)');
  return { ...(sentinels && { sentinels, sentinelMaster }), ...(cluster && { cluster }) };
}

/** `CACHE_NEAR_MAX_BYTES`: a size, or 0 for no near cache. */
function nearBytes(env: Env): number {
  const raw = present(env, 'CACHE_NEAR_MAX_BYTES');
  if (raw === undefined) return CACHE_DEFAULTS.near.maxBytes;
  return /^0+$/.test(raw) ? 0 : parseSize('CACHE_NEAR_MAX_BYTES', raw);
}

/**
 * Reads the `CACHE_*` variables. Without `CACHE_TYPE`: null under `NODE_ENV=test` (without the
 * null warning), memory otherwise, with `chosenBy: 'default'` so a production start can say so.
 * Throws {@link CacheConfigError} naming the first bad variable.
 */
export function cacheConfigFromEnv(env: Env, options: { nodeEnv: string }): CacheConfig {
  const named = present(env, 'CACHE_TYPE');
  let type: CacheType;
  if (named === undefined) type = options.nodeEnv === 'test' ? 'null' : 'memory';
  else {
    const known = TYPES[named.toLowerCase()];
    if (!known) throw new CacheConfigError('CACHE_TYPE', `unknown cache type "${named}" (expected null, memory, filesystem or redis)`);
    type = known;
  }
  const keyPrefix = env.CACHE_KEY_PREFIX ?? CACHE_DEFAULTS.cache.keyPrefix;
  if (keyPrefix.trim() === '') throw new CacheConfigError('CACHE_KEY_PREFIX', 'must not be empty: clear() removes everything under it');
  const maxBytesRaw = present(env, 'CACHE_MAX_BYTES');
  const password = env.CACHE_REDIS_PASSWORD === '' ? undefined : env.CACHE_REDIS_PASSWORD;
  const url = redisUrl(present(env, 'CACHE_REDIS_URL'));
  const db = integer(env, 'CACHE_REDIS_DB', CACHE_DEFAULTS.redis.db, 0);
  return {
    type,
    chosenBy: named === undefined ? 'default' : 'env',
    defaultTimeout: integer(env, 'CACHE_DEFAULT_TIMEOUT', CACHE_DEFAULTS.cache.defaultTimeout, 0),
    keyPrefix,
    threshold: integer(env, 'CACHE_THRESHOLD', CACHE_DEFAULTS.memory.threshold, 1),
    maxBytes: maxBytesRaw === undefined ? CACHE_DEFAULTS.memory.maxBytes : parseSize('CACHE_MAX_BYTES', maxBytesRaw),
    dir: present(env, 'CACHE_DIR') ?? CACHE_DEFAULTS.filesystem.dir,
    jitter: fraction(env, 'CACHE_JITTER', CACHE_DEFAULTS.cache.jitter),
    noNullWarning: flag(env, 'CACHE_NO_NULL_WARNING', named === undefined && options.nodeEnv === 'test'),
    redis: {
      url,
      host: present(env, 'CACHE_REDIS_HOST') ?? CACHE_DEFAULTS.redis.host,
      port: integer(env, 'CACHE_REDIS_PORT', CACHE_DEFAULTS.redis.port, 1, 65535),
      password,
      db,
      commandTimeoutMs: integer(env, 'CACHE_REDIS_TIMEOUT_MS', CACHE_DEFAULTS.redis.commandTimeoutMs, 1),
      ...topology(env, url, db),
    },
    nearMaxBytes: nearBytes(env),
    nearTtl: integer(env, 'CACHE_NEAR_TTL', CACHE_DEFAULTS.near.maxTtl, 1),
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
    const list = (nodes: { host: string; port: number }[]): string => nodes.map(({ host, port }) => `${host}:${port}`).join(',');
    if (config.redis.cluster) where = ` on the cluster ${list(config.redis.cluster)}`;
    if (config.redis.sentinels) where = ` at master "${config.redis.sentinelMaster}" of the sentinels ${list(config.redis.sentinels)}`;
    where += config.nearMaxBytes === 0 ? ', no near cache' : `, near cache ${config.nearMaxBytes} bytes (copies live at most ${config.nearTtl} s)`;
  }
  return `cache: ${config.type}${where}, prefix ${JSON.stringify(config.keyPrefix)}, default timeout ${config.defaultTimeout} s (${how})`;
}

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
 * breaker and fronted by a coherent near cache (backends/redis-stack.ts); the filesystem backend
 * throws here (naming CACHE_DIR) if its folder is unwritable.
 */
export async function createBackend(config: CacheConfig, deps: CreateCacheDeps = {}): Promise<CacheBackend> {
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
      const { createRedisStack } = await import('./backends/redis-stack.ts');
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
