import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cacheConfigFromEnv, ConfigError, EnvReader, type CacheConfig, type Env } from './cache/index.ts';
import { LOOPBACK_IPS, type ToolbarConfig } from './cache/toolbar/index.ts';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './log.ts';

export { ConfigError, type Env };

/** Kiln's whole configuration, typed and validated once at boot. */
export interface Config {
  port: number;
  host: string;
  nodeEnv: 'development' | 'production' | 'test';
  /** `sqlite:path/to/file.sqlite` or `postgres://…`. */
  databaseUrl: string;
  /** Folder for the SQLite file and the generated development session secret. */
  dataDir: string;
  sessionSecret: string;
  authorUsername?: string;
  authorPassword?: string;
  /** `SEED_DEMO`: whether an empty database gets the demo posts (default on, except in production). */
  seedDemo: boolean;
  /** Absolute base URL of the site, without a trailing slash. */
  siteUrl: string;
  /** Whether cookies are `Secure` (the site is served over https). */
  secureCookies: boolean;
  /** `TRUST_PROXY`: which peers may speak for the client in forwarding headers (see {@link TrustProxy}). */
  trustProxy: TrustProxy;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  cache: CacheConfig;
  /** The dev toolbar: `KILN_TOOLBAR` (default on in development only) and `KILN_TOOLBAR_IPS` (default loopback). */
  toolbar: ToolbarConfig;
  /** `LOG_LEVEL`: the least severe line written (`silent`, `error`, `warn`, `info`, `debug`); default `info`. */
  logLevel: LogLevel;
  /** How log lines look: one JSON object each in production, a readable line otherwise. */
  logFormat: LogFormat;
  /** `METRICS_TOKEN`: bearer token for /metrics from non-loopback clients; unset = loopback only. */
  metricsToken?: string;
  session: SessionConfig;
  /** `KILN_WORKERS`: worker processes (default 1 in development and test, one per core in production). */
  workers: number;
  /** `HTTP_CACHE_PURGE_URLS`: shared HTTP caches (Varnish) purged by tag on every invalidation; none by default. */
  httpCachePurgeUrls: readonly string[];
  /**
   * `KILN_TEST_CRASH_AFTER_COMMIT=1`, read only when NODE_ENV=test: the process kills itself right
   * after a post write commits, before its cache invalidation (the outbox's crash test).
   */
  crashAfterCommit: boolean;
}

/**
 * Which peers Kiln believes about the client (`X-Forwarded-For`, `-Proto`, `-Host`); every other
 * peer's forwarding headers are dropped before anything reads them (src/blog/web/forwarded.ts).
 * - `none` (`TRUST_PROXY` unset or `0`): no proxy; the peer is the client.
 * - `hops` (`TRUST_PROXY=N`): N proxies in a row, the nearest on this host (a loopback peer).
 * - `addresses` (`TRUST_PROXY=10.0.0.5,10.1.0.0/16`): the proxies' addresses, IP or CIDR.
 */
export type TrustProxy =
  | { kind: 'none' }
  | { kind: 'hops'; hops: number }
  | { kind: 'addresses'; addresses: readonly string[] };

/** Where the server-side sessions live. */
export interface SessionConfig {
  /** `SESSION_STORE`: the database's `session` table, or Redis. */
  store: 'database' | 'redis';
  /** `SESSION_REDIS_URL` (default `CACHE_REDIS_URL` when set, else the local Redis). */
  redisUrl: string;
  /** `SESSION_REDIS_PREFIX`: prefix of every session key in Redis. */
  redisPrefix: string;
}

/**
 * A condition at start-up that a person must fix (a port in use, no author account); its message
 * is the one line to print, naming what to set.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

// Every default in one block (the cache's are in src/cache/defaults.ts).
const DEFAULTS = {
  PORT: 3000,
  HOST: '127.0.0.1',
  DATA_DIR: 'data',
  /** Demo posts in an empty database: in development and test, never unasked in production. */
  SEED_DEMO: { development: true, test: true, production: false },
  BODY_LIMIT_BYTES: 1024 * 1024,
  SESSION_STORE: 'database',
  SESSION_REDIS_URL: 'redis://127.0.0.1:6379',
  SESSION_REDIS_PREFIX: 'kiln:sess:',
  KILN_TOOLBAR_IPS: LOOPBACK_IPS,
  LOG_LEVEL: 'info',
} as const;

/** Shortest `METRICS_TOKEN` accepted: a guessable token would open /metrics to anyone. */
const MIN_METRICS_TOKEN_LENGTH = 16;

/** Reads and validates the environment; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);
  const nodeEnv = parseNodeEnv(read.string('NODE_ENV', 'development'));
  const port = read.integer('PORT', { fallback: DEFAULTS.PORT, max: 65535 });
  const host = read.string('HOST', DEFAULTS.HOST);
  const dataDir = read.string('DATA_DIR', DEFAULTS.DATA_DIR);
  const databaseUrl = parseDatabaseUrl(read.raw('DATABASE_URL') ?? `sqlite:${join(dataDir, 'kiln.sqlite')}`);
  const siteUrl = parseSiteUrl(read.raw('SITE_URL') ?? `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`);
  const authorUsername = read.present('AUTHOR_USERNAME');
  // Read as set: spaces in a password are part of it.
  const authorPassword = read.raw('AUTHOR_PASSWORD') || undefined;
  if (authorPassword !== undefined && authorPassword.length < 8) {
    throw new ConfigError('AUTHOR_PASSWORD', 'must be at least 8 characters');
  }
  if (nodeEnv === 'production' && authorUsername && !authorPassword) {
    throw new ConfigError('AUTHOR_PASSWORD', 'is required in production when AUTHOR_USERNAME is set');
  }
  const cache = cacheConfigFromEnv(env, { nodeEnv });
  return {
    port,
    host,
    nodeEnv,
    databaseUrl,
    dataDir,
    sessionSecret: sessionSecret(read.raw('SESSION_SECRET'), nodeEnv, dataDir),
    authorUsername,
    authorPassword,
    seedDemo: read.flag('SEED_DEMO', DEFAULTS.SEED_DEMO[nodeEnv]),
    siteUrl,
    secureCookies: siteUrl.startsWith('https:'),
    trustProxy: parseTrustProxy(read.raw('TRUST_PROXY') ?? ''),
    bodyLimitBytes: read.integer('BODY_LIMIT_BYTES', { fallback: DEFAULTS.BODY_LIMIT_BYTES, min: 1024 }),
    cache,
    toolbar: parseToolbar(read, nodeEnv),
    logLevel: read.choice('LOG_LEVEL', LOG_LEVELS, DEFAULTS.LOG_LEVEL),
    logFormat: nodeEnv === 'production' ? 'json' : 'text',
    metricsToken: parseMetricsToken(read),
    session: parseSession(read),
    workers: parseWorkers(read, nodeEnv, cache),
    httpCachePurgeUrls: parsePurgeUrls(read.raw('HTTP_CACHE_PURGE_URLS') ?? ''),
    crashAfterCommit: nodeEnv === 'test' && read.flag('KILN_TEST_CRASH_AFTER_COMMIT', false),
  };
}

/**
 * `KILN_TOOLBAR` (1/0; default on in development only) and `KILN_TOOLBAR_IPS` (addresses
 * separated by commas or spaces; default loopback). The allow-list applies in every environment,
 * so a development server bound to a public address does not show its SQL to the network.
 */
function parseToolbar(read: EnvReader, nodeEnv: Config['nodeEnv']): ToolbarConfig {
  return {
    enabled: read.flag('KILN_TOOLBAR', nodeEnv === 'development'),
    allowedIps: read.ipList('KILN_TOOLBAR_IPS', DEFAULTS.KILN_TOOLBAR_IPS),
  };
}

/** `METRICS_TOKEN`: the bearer token that lets a non-loopback scraper read /metrics; unset = loopback only. */
function parseMetricsToken(read: EnvReader): string | undefined {
  const token = read.present('METRICS_TOKEN');
  if (token !== undefined && token.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new ConfigError('METRICS_TOKEN', `must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`);
  }
  return token;
}

/**
 * Worker processes: one per core in production, else 1. A memory cache lives in each process,
 * so an edit would refresh only the worker that saved it: with it the default is 1 worker, and
 * asking for more is refused rather than serving readers stale pages.
 */
function parseWorkers(read: EnvReader, nodeEnv: Config['nodeEnv'], cache: CacheConfig): number {
  const perProcessCache = cache.type === 'memory';
  const fallback = nodeEnv === 'production' && !perProcessCache ? availableParallelism() : 1;
  const workers = read.integer('KILN_WORKERS', { fallback, min: 1, max: 256 });
  if (workers > 1 && perProcessCache) {
    throw new ConfigError(
      'KILN_WORKERS',
      `${workers} workers cannot share the per-process memory cache (an edit would refresh one worker only); set CACHE_TYPE=redis, or filesystem on one host, or KILN_WORKERS=1`,
    );
  }
  return workers;
}

/** @deprecated Read variables through `EnvReader` (the cache library's configuration kit). */
export function parseBoolean(variable: string, raw: string): boolean {
  return new EnvReader({ [variable]: raw }).flag(variable, false);
}

function parseNodeEnv(v: string): Config['nodeEnv'] {
  if (v === 'development' || v === 'production' || v === 'test') return v;
  throw new ConfigError('NODE_ENV', `expected development, production or test, got "${v}"`);
}

const MAX_PROXY_HOPS = 10;

/**
 * Parses `TRUST_PROXY`: `0` or empty (no proxy), a hop count, or IP addresses and CIDR ranges
 * separated by commas. `true`/`yes`/`on` are refused: they would trust whichever peer sends the
 * headers, and only the proxy's address makes forwarding headers safe to believe.
 */
export function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim().toLowerCase();
  if (['', '0', 'false', 'no', 'off'].includes(value)) return { kind: 'none' };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > MAX_PROXY_HOPS) throw new ConfigError('TRUST_PROXY', `expected a whole number from 1 to ${MAX_PROXY_HOPS}, got "${value}"`);
    return { kind: 'hops', hops };
  }
  const addresses = value.split(',').map((entry) => entry.trim());
  for (const entry of addresses) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const bits = family === 4 ? 32 : 128;
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !validPrefix || extra !== undefined) {
      throw new ConfigError(
        'TRUST_PROXY',
        `expected 0, a hop count (1–${MAX_PROXY_HOPS}, the nearest proxy on this host) or the proxies' addresses (IP or CIDR, comma-separated); "${entry}" is none of them`,
      );
    }
  }
  return { kind: 'addresses', addresses };
}

function parseDatabaseUrl(raw: string): string {
  const url = raw.trim();
  if (/^sqlite:.+/.test(url)) return url;
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid postgres:// URL');
    }
    // `?schema=NAME` puts Kiln's tables in that PostgreSQL schema (created if missing).
    const schema = new URL(url).searchParams.get('schema');
    if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new ConfigError('DATABASE_URL', 'schema= must be a plain identifier (letters, digits, _)');
    }
    return url;
  }
  throw new ConfigError('DATABASE_URL', 'expected sqlite:FILE or postgres://…');
}

function parseSession(read: EnvReader): SessionConfig {
  const store = read.string('SESSION_STORE', DEFAULTS.SESSION_STORE).toLowerCase();
  if (store !== 'database' && store !== 'redis') {
    throw new ConfigError('SESSION_STORE', `expected database or redis, got "${read.raw('SESSION_STORE')}"`);
  }
  const redisUrl = read.redisUrl('SESSION_REDIS_URL') ?? read.redisUrl('CACHE_REDIS_URL') ?? DEFAULTS.SESSION_REDIS_URL;
  // Read as set: spaces in a prefix are part of it.
  const redisPrefix = read.raw('SESSION_REDIS_PREFIX') ?? DEFAULTS.SESSION_REDIS_PREFIX;
  if (redisPrefix.trim() === '') throw new ConfigError('SESSION_REDIS_PREFIX', 'must not be empty');
  return { store, redisUrl, redisPrefix };
}

/** Comma-separated http(s) URLs, each checked here so a typo stops the start rather than every purge. */
function parsePurgeUrls(raw: string): string[] {
  const urls = raw.split(',').map((part) => part.trim()).filter(Boolean);
  urls.forEach((text, i) => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    // The value is never echoed: it may carry credentials.
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
      throw new ConfigError('HTTP_CACHE_PURGE_URLS', `entry ${i + 1} is not an http:// or https:// URL (expected e.g. http://127.0.0.1:6081/)`);
    }
  });
  return urls;
}

function parseSiteUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError('SITE_URL', `is not an absolute URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('SITE_URL', 'must be http:// or https://');
  }
  return url.href.replace(/\/+$/, '');
}

// Production must be given a secret; development keeps a generated one in the data folder so
// sessions survive restarts; tests get a fresh one.
function sessionSecret(raw: string | undefined, nodeEnv: Config['nodeEnv'], dataDir: string): string {
  if (raw !== undefined && raw !== '') {
    if (raw.length < 16) throw new ConfigError('SESSION_SECRET', 'must be at least 16 characters');
    return raw;
  }
  if (nodeEnv === 'production') throw new ConfigError('SESSION_SECRET', 'is required in production');
  if (nodeEnv === 'test') return randomBytes(32).toString('hex');
  const file = join(dataDir, 'session-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('hex');
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  }
}
