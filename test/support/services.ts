import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';

/** The shared Redis every suite may use with its own key prefix (never flushed). */
export const SHARED_REDIS_URL = process.env.KILN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisAvailable(url: string = SHARED_REDIS_URL, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Checks the shared Redis for a suite that needs it. Absent under CI: throws, failing the suite.
 * Absent elsewhere: warns loudly and resolves `false`, so the suite can `describe.skipIf(!up)`.
 */
export async function requireRedis(url: string = SHARED_REDIS_URL): Promise<boolean> {
  if (await redisAvailable(url)) return true;
  return absent(`Redis is not reachable at ${redact(url)}`, 'start redis-server');
}

/**
 * Checks that the `redis-server` binary can be run, for suites that start private servers.
 * Same policy as {@link requireRedis}: throws under CI, otherwise warns and resolves `false`.
 */
export function requireRedisServerBinary(): Promise<boolean> {
  return requireBinary('redis-server', 'install redis-server');
}

/**
 * Checks that the program `name` runs (`name --version` exits 0), for suites that start it.
 * Same policy as {@link requireRedis}: throws under CI naming it and `remedy`, otherwise warns
 * and resolves `false`.
 */
export async function requireBinary(name: string, remedy: string): Promise<boolean> {
  const run = spawnSync(name, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (run.status === 0) return true;
  return absent(`The ${name} binary cannot be run`, remedy);
}

/** The Chromium the browser suites drive through playwright-core (Debian's package). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless {@link CHROMIUM_PATH} as every browser suite runs it (no sandbox, no network of its own). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Checks that {@link CHROMIUM_PATH} is an executable, for the suites that drive a browser. Same
 * policy as {@link requireRedis}: throws under CI, otherwise warns and resolves `false`.
 */
export async function requireChromium(): Promise<boolean> {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return absent(`${CHROMIUM_PATH} is missing`, 'apt-get install chromium');
  }
}

/**
 * Checks that Varnish can run deploy/varnish/kiln.vcl: `varnishd` is installed and compiles a
 * VCL importing the xkey vmod (varnish-modules). Same policy as {@link requireRedis}: absent
 * under CI throws, elsewhere warns loudly and resolves `false`.
 */
export async function requireVarnish(): Promise<boolean> {
  const version = spawnSync('varnishd', ['-V'], { encoding: 'utf8', timeout: 5000 });
  if (version.status !== 0) return absent('The varnishd binary cannot be run', 'apt-get install varnish varnish-modules');
  const dir = mkdtempSync(join(tmpdir(), 'kiln-varnish-check-'));
  try {
    // Started as root, varnishd reads the VCL as its own unprivileged user.
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'check.vcl'), 'vcl 4.1;\nimport xkey;\nbackend none none;\n');
    const compile = spawnSync('varnishd', ['-C', '-n', join(dir, 'n'), '-f', join(dir, 'check.vcl')], { encoding: 'utf8', timeout: 30_000 });
    if (compile.status !== 0) return absent('The xkey vmod of Varnish is missing', 'apt-get install varnish-modules');
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fails under CI, otherwise warns loudly and resolves false. */
function absent(message: string, remedy: string): false {
  if (process.env.CI) throw new Error(`${message}; CI requires it (${remedy}).`);
  console.warn(`\n!!!!!!!! ${message}: SKIPPING the suites that need it (${remedy} to run them). !!!!!!!!\n`);
  return false;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** The PostgreSQL the suites may use; each test app works in its own schema, dropped afterwards. */
export const SHARED_POSTGRES_URL = process.env.KILN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether PostgreSQL answers a query at `url` within `timeoutMs`. */
export async function postgresAvailable(url: string = SHARED_POSTGRES_URL, timeoutMs = 2000): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Checks PostgreSQL for the suites that run on it. Same policy as {@link requireRedis}: absent
 * under CI throws, elsewhere warns loudly and resolves `false`.
 */
export async function requirePostgres(url: string = SHARED_POSTGRES_URL): Promise<boolean> {
  if (await postgresAvailable(url)) return true;
  return absent(`PostgreSQL is not reachable at ${redact(url)}`, 'start PostgreSQL, e.g. pg_ctlcluster 15 main start');
}
