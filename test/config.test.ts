import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { LOOPBACK_IPS } from '../src/cache/koa/index.ts';
import { ConfigError, loadConfig, type Env } from '../src/config.ts';

/** The ConfigError `loadConfig(env)` throws, or a failure if it accepts `env`. */
function refusal(env: Env): ConfigError {
  try {
    loadConfig({ NODE_ENV: 'test', ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig(): DATABASE_URL', () => {
  it('accepts sqlite: files and postgres:// URLs, with an optional ?schema=', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'sqlite:/tmp/k.sqlite' }).databaseUrl).toBe('sqlite:/tmp/k.sqlite');
    const url = 'postgres://kiln:secret@db.internal:5432/kiln?schema=blog_1';
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_URL: url }).databaseUrl).toBe(url);
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgresql://db/kiln' }).databaseUrl).toBe('postgresql://db/kiln');
  });

  it('refuses other schemes and schema names that are not plain identifiers, naming DATABASE_URL', () => {
    expect(refusal({ DATABASE_URL: 'mysql://db/kiln' }).variable).toBe('DATABASE_URL');
    const bad = refusal({ DATABASE_URL: 'postgres://db/kiln?schema=x";DROP' });
    expect(bad.variable).toBe('DATABASE_URL');
    expect(bad.message).not.toContain('DROP');
  });
});

describe('loadConfig(): SESSION_*', () => {
  it('keeps sessions in the database by default, with the local Redis and kiln:sess: ready for SESSION_STORE=redis', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).session).toEqual({
      store: 'database',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'kiln:sess:',
    });
  });

  it('takes SESSION_REDIS_URL, else CACHE_REDIS_URL', () => {
    const both = loadConfig({ NODE_ENV: 'test', SESSION_STORE: 'redis', SESSION_REDIS_URL: 'redis://s:1/2', CACHE_REDIS_URL: 'redis://c:3/0' });
    expect(both.session).toMatchObject({ store: 'redis', redisUrl: 'redis://s:1/2' });
    const cacheOnly = loadConfig({ NODE_ENV: 'test', SESSION_STORE: 'Redis', CACHE_REDIS_URL: 'redis://c:3/0' });
    expect(cacheOnly.session).toMatchObject({ store: 'redis', redisUrl: 'redis://c:3/0' });
  });

  it('refuses a bad value naming its variable, without echoing a URL that may hold a password', () => {
    expect(refusal({ SESSION_STORE: 'memory' }).variable).toBe('SESSION_STORE');
    const url = refusal({ SESSION_REDIS_URL: 'http://user:hunter2@host' });
    expect(url.variable).toBe('SESSION_REDIS_URL');
    expect(url.message).not.toContain('hunter2');
    expect(refusal({ SESSION_REDIS_URL: 'not a url' }).variable).toBe('SESSION_REDIS_URL');
    expect(refusal({ SESSION_REDIS_PREFIX: ' ' }).variable).toBe('SESSION_REDIS_PREFIX');
  });
});

describe('loadConfig(): SEED_DEMO', () => {
  const SECRET = { SESSION_SECRET: 'a-session-secret-for-tests' };
  it('seeds demo posts by default in development and test, never unasked in production', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).seedDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', DATA_DIR: '/tmp/kiln-config-test', ...SECRET }).seedDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', ...SECRET }).seedDemo).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', SEED_DEMO: '1', ...SECRET }).seedDemo).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', SEED_DEMO: '0' }).seedDemo).toBe(false);
  });
});

describe('loadConfig(): KILN_WORKERS', () => {
  it('runs one process in development and test, one worker per core in production', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).workers).toBe(1);
    expect(loadConfig({ NODE_ENV: 'development', SESSION_SECRET: 'x'.repeat(32) }).workers).toBe(1);
    const shared = { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), CACHE_TYPE: 'redis' };
    expect(loadConfig(shared).workers).toBe(availableParallelism());
    expect(loadConfig({ ...shared, KILN_WORKERS: '3' }).workers).toBe(3);
  });

  it('keeps one worker with the per-process memory cache, and refuses more rather than serve stale pages', () => {
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), CACHE_TYPE: 'memory' }).workers).toBe(1);
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) }).workers).toBe(1);
    const error = refusal({ NODE_ENV: 'development', CACHE_TYPE: 'memory', KILN_WORKERS: '2' });
    expect(error.variable).toBe('KILN_WORKERS');
    expect(error.message).toContain('CACHE_TYPE=redis');
  });

  it('refuses zero, fractions and words, naming KILN_WORKERS', () => {
    for (const bad of ['0', '1.5', 'many', '-2', '257']) expect(refusal({ KILN_WORKERS: bad }).variable).toBe('KILN_WORKERS');
  });
});

describe('loadConfig(): TRUST_PROXY', () => {
  const trust = (value: string) => loadConfig({ NODE_ENV: 'test', TRUST_PROXY: value }).trustProxy;

  it('trusts no proxy by default or with 0', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).trustProxy).toEqual({ kind: 'none' });
    for (const value of ['', '0', 'off', 'false']) expect(trust(value), value).toEqual({ kind: 'none' });
  });

  it('takes a hop count (the nearest proxy on this host)', () => {
    expect(trust('1')).toEqual({ kind: 'hops', hops: 1 });
    expect(trust(' 2 ')).toEqual({ kind: 'hops', hops: 2 });
  });

  it("takes the proxies' addresses, IP or CIDR, comma-separated", () => {
    expect(trust('127.0.0.1')).toEqual({ kind: 'addresses', addresses: ['127.0.0.1'] });
    expect(trust('10.0.0.5, 10.1.0.0/16,::1, 2001:DB8::/32')).toEqual({ kind: 'addresses', addresses: ['10.0.0.5', '10.1.0.0/16', '::1', '2001:db8::/32'] });
  });

  it('refuses anything else at boot, naming TRUST_PROXY, "true" included (it would trust any peer)', () => {
    for (const value of ['true', 'yes', 'proxy.internal', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', '10.0.0.1,', '11', '1.5', '10.0.0.1/']) {
      expect(refusal({ TRUST_PROXY: value }).variable, value).toBe('TRUST_PROXY');
    }
  });
});

describe('loadConfig(): HTTP_CACHE_PURGE_URLS', () => {
  it('is empty by default, and a comma-separated list of http(s) URLs otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).httpCachePurgeUrls).toEqual([]);
    const urls = loadConfig({ NODE_ENV: 'test', HTTP_CACHE_PURGE_URLS: ' http://127.0.0.1:6081/ , https://edge.internal/purge,' }).httpCachePurgeUrls;
    expect(urls).toEqual(['http://127.0.0.1:6081/', 'https://edge.internal/purge']);
  });

  it('refuses anything else at boot, naming HTTP_CACHE_PURGE_URLS without echoing credentials', () => {
    for (const bad of ['varnish:6081', 'ftp://cache/', '127.0.0.1:6081', 'http://', 'http://ok/,redis://user:hunter2@x/']) {
      const error = refusal({ HTTP_CACHE_PURGE_URLS: bad });
      expect([bad, error.variable]).toEqual([bad, 'HTTP_CACHE_PURGE_URLS']);
      expect(error.message).not.toContain('hunter2');
    }
  });
});

describe('loadConfig(): KILN_TOOLBAR, KILN_TOOLBAR_IPS', () => {
  const toolbar = (env: Env) => loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), ...env }).toolbar;

  it('is on in development and off in production and test, loopback only', () => {
    expect(toolbar({ NODE_ENV: 'development' })).toEqual({ enabled: true, allowedIps: LOOPBACK_IPS });
    expect(toolbar({ NODE_ENV: 'production' }).enabled).toBe(false);
    expect(toolbar({ NODE_ENV: 'test' }).enabled).toBe(false);
  });

  it('lets KILN_TOOLBAR override the default either way', () => {
    expect(toolbar({ NODE_ENV: 'production', KILN_TOOLBAR: '1' }).enabled).toBe(true);
    expect(toolbar({ NODE_ENV: 'development', KILN_TOOLBAR: 'off' }).enabled).toBe(false);
    expect(toolbar({ NODE_ENV: 'development', KILN_TOOLBAR: ' ' }).enabled).toBe(true);
  });

  it('reads KILN_TOOLBAR_IPS separated by commas or spaces', () => {
    expect(toolbar({ NODE_ENV: 'production', KILN_TOOLBAR: '1', KILN_TOOLBAR_IPS: '10.0.0.7, 192.168.1.2 ::1' }).allowedIps).toEqual([
      '10.0.0.7',
      '192.168.1.2',
      '::1',
    ]);
  });

  it('refuses bad values naming the variable', () => {
    expect(() => toolbar({ KILN_TOOLBAR: 'maybe' })).toThrow(ConfigError);
    expect(() => toolbar({ KILN_TOOLBAR: 'maybe' })).toThrow(/^KILN_TOOLBAR:/);
    expect(() => toolbar({ KILN_TOOLBAR_IPS: '10.0.0.0/8' })).toThrow(/^KILN_TOOLBAR_IPS: "10.0.0.0\/8"/);
  });
});

describe('loadConfig(): METRICS_TOKEN', () => {
  const token = (value?: string) => loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: value }).metricsToken;

  it('reads METRICS_TOKEN, absent when empty, refusing a short one by name', () => {
    expect(token()).toBeUndefined();
    expect(token(' ')).toBeUndefined();
    expect(token('scrape-token-0123456789')).toBe('scrape-token-0123456789');
    expect(() => token('short')).toThrow(ConfigError);
    expect(() => token('short')).toThrow(/^METRICS_TOKEN:/);
  });
});

describe('loadConfig(): LOG_LEVEL', () => {
  it('defaults to info, reads every level in any letter case, and writes JSON in production only', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('info');
    for (const level of ['silent', 'error', 'warn', 'info', 'debug']) expect(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: ` ${level.toUpperCase()} ` }).logLevel).toBe(level);
    expect(loadConfig({ NODE_ENV: 'test' }).logFormat).toBe('text');
    expect(loadConfig({ NODE_ENV: 'development' }).logFormat).toBe('text');
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'production-secret-0123' }).logFormat).toBe('json');
  });

  it('refuses any other word, naming LOG_LEVEL and the levels', () => {
    for (const bad of ['verbose', 'trace', '3']) {
      const error = refusal({ LOG_LEVEL: bad });
      expect(error.variable).toBe('LOG_LEVEL');
      expect(error.message).toContain('silent, error, warn, info, debug');
    }
  });
});

describe('loadConfig(): one ConfigError for the cache and the app', () => {
  it('throws the same ConfigError class for a CACHE_* variable as for its own', () => {
    expect(refusal({ CACHE_THRESHOLD: 'lots' }).variable).toBe('CACHE_THRESHOLD');
    expect(refusal({ PORT: 'http' }).variable).toBe('PORT');
  });
});
