import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheConfigFromEnv, describeCacheConfig } from '../../src/cache/config/cache-config.ts';
import { createBackend, createCache } from '../../src/cache/config/create.ts';
import { parseSize } from '../../src/cache/config/env.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

const dev = { nodeEnv: 'development' };

describe('cacheConfigFromEnv()', () => {
  it('defaults to memory in development and production, saying it chose', () => {
    for (const nodeEnv of ['development', 'production']) {
      const config = cacheConfigFromEnv({}, { nodeEnv });
      expect(config).toMatchObject({ type: 'memory', chosenBy: 'default', noNullWarning: false });
    }
    expect(cacheConfigFromEnv({ CACHE_TYPE: 'memory' }, { nodeEnv: 'production' }).chosenBy).toBe('env');
  });

  it('defaults to the null backend under NODE_ENV=test, without the warning', () => {
    expect(cacheConfigFromEnv({}, { nodeEnv: 'test' })).toMatchObject({ type: 'null', noNullWarning: true });
    expect(cacheConfigFromEnv({ CACHE_TYPE: 'filesystem' }, { nodeEnv: 'test' }).type).toBe('filesystem');
    expect(cacheConfigFromEnv({ CACHE_TYPE: 'null' }, { nodeEnv: 'test' }).noNullWarning).toBe(false);
  });

  it('has the documented defaults', () => {
    expect(cacheConfigFromEnv({}, dev)).toEqual({
      type: 'memory',
      chosenBy: 'default',
      defaultTimeout: 300,
      keyPrefix: 'kiln:',
      threshold: 500,
      maxBytes: 64 * 1024 * 1024,
      dir: 'data/cache',
      jitter: 0,
      noNullWarning: false,
      redis: { url: undefined, host: '127.0.0.1', port: 6379, password: undefined, db: 0, commandTimeoutMs: 250 },
      nearMaxBytes: 16 * 1024 * 1024,
      nearTtl: 10,
    });
  });

  it('accepts the Flask-Caching names of the backends', () => {
    const type = (CACHE_TYPE: string) => cacheConfigFromEnv({ CACHE_TYPE }, dev).type;
    expect(type('simple')).toBe('memory');
    expect(type('SimpleCache')).toBe('memory');
    expect(type('RedisCache')).toBe('redis');
    expect(type('FileSystemCache')).toBe('filesystem');
    expect(type('NullCache')).toBe('null');
  });

  it('reads every variable', () => {
    const config = cacheConfigFromEnv(
      {
        CACHE_TYPE: 'redis',
        CACHE_DEFAULT_TIMEOUT: '60',
        CACHE_KEY_PREFIX: 'blog:',
        CACHE_THRESHOLD: '1000',
        CACHE_MAX_BYTES: '32MB',
        CACHE_DIR: '/var/cache/kiln',
        CACHE_JITTER: '0.1',
        CACHE_NO_NULL_WARNING: 'yes',
        CACHE_REDIS_URL: 'redis://:pw@redis.local:6380/2',
        CACHE_REDIS_HOST: 'other',
        CACHE_REDIS_PORT: '7000',
        CACHE_REDIS_PASSWORD: 'secret',
        CACHE_REDIS_DB: '3',
        CACHE_REDIS_TIMEOUT_MS: '100',
      },
      dev,
    );
    expect(config).toEqual({
      type: 'redis',
      chosenBy: 'env',
      defaultTimeout: 60,
      keyPrefix: 'blog:',
      threshold: 1000,
      maxBytes: 32 * 1024 * 1024,
      dir: '/var/cache/kiln',
      jitter: 0.1,
      noNullWarning: true,
      redis: { url: 'redis://:pw@redis.local:6380/2', host: 'other', port: 7000, password: 'secret', db: 3, commandTimeoutMs: 100 },
      nearMaxBytes: 16 * 1024 * 1024,
      nearTtl: 10,
    });
  });

  const bad: Array<[string, string]> = [
    ['CACHE_TYPE', 'memcached'],
    ['CACHE_DEFAULT_TIMEOUT', 'soon'],
    ['CACHE_DEFAULT_TIMEOUT', '-5'],
    ['CACHE_THRESHOLD', '0'],
    ['CACHE_THRESHOLD', '1.5'],
    ['CACHE_MAX_BYTES', 'lots'],
    ['CACHE_MAX_BYTES', '-1MB'],
    ['CACHE_JITTER', '2'],
    ['CACHE_JITTER', '-0.1'],
    ['CACHE_NO_NULL_WARNING', 'maybe'],
    ['CACHE_REDIS_URL', 'not a url'],
    ['CACHE_REDIS_URL', 'http://localhost:6379'],
    ['CACHE_REDIS_URL', 'redis://localhost:6379/db'],
    ['CACHE_REDIS_PORT', '70000'],
    ['CACHE_REDIS_DB', 'one'],
    ['CACHE_REDIS_TIMEOUT_MS', '0'],
    ['CACHE_KEY_PREFIX', ''],
  ];
  for (const [variable, value] of bad) {
    it(`throws naming ${variable} for ${JSON.stringify(value)}`, () => {
      expect(() => cacheConfigFromEnv({ [variable]: value }, dev)).toThrow(new RegExp(`^${variable}\\b`));
    });
  }

  it('never echoes a malformed Redis URL, which may hold the password', () => {
    expect(() => cacheConfigFromEnv({ CACHE_REDIS_URL: 'redis://:hunter2@host:port' }, dev)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });
});

describe('parseSize()', () => {
  it('reads bytes and binary multiples', () => {
    expect(parseSize('X', '1024')).toBe(1024);
    expect(parseSize('X', '64MB')).toBe(64 * 1024 * 1024);
    expect(parseSize('X', '64 MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('X', '512k')).toBe(512 * 1024);
    expect(parseSize('X', '1g')).toBe(1024 ** 3);
    expect(parseSize('X', '1.5kb')).toBe(1536);
  });
});

describe('describeCacheConfig()', () => {
  it('masks the Redis password', () => {
    const config = cacheConfigFromEnv({ CACHE_TYPE: 'redis', CACHE_REDIS_URL: 'redis://user:hunter2@host:6379/1' }, dev);
    const line = describeCacheConfig(config);
    expect(line).not.toContain('hunter2');
    expect(line).toContain('redis://user:***@host:6379/1');
  });

  it('says when the backend was chosen by default', () => {
    expect(describeCacheConfig(cacheConfigFromEnv({}, { nodeEnv: 'production' }))).toMatch(/memory.*chosen by default/);
  });
});

describe('createBackend() / createCache()', () => {
  it('builds each configured backend with the key prefix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'));
    try {
      for (const [type, name] of [['null', 'null'], ['memory', 'memory'], ['filesystem', 'filesystem']]) {
        const config = cacheConfigFromEnv({ CACHE_TYPE: type, CACHE_DIR: dir, CACHE_NO_NULL_WARNING: '1' }, dev);
        const backend = await createBackend(config);
        expect(backend.name).toBe(name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns once at creation of a null cache unless silenced', async () => {
    const logger = new MemoryLogger();
    await createCache(cacheConfigFromEnv({ CACHE_TYPE: 'null' }, dev), { logger });
    expect(logger.warns).toHaveLength(1);
    expect(logger.warns[0]).toMatch(/CACHE_NO_NULL_WARNING/);
    await createCache(cacheConfigFromEnv({ CACHE_TYPE: 'null', CACHE_NO_NULL_WARNING: '1' }, dev), { logger });
    expect(logger.warns).toHaveLength(1);
  });

  it('fails at start naming CACHE_DIR when the folder cannot be written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      const config = cacheConfigFromEnv({ CACHE_TYPE: 'filesystem', CACHE_DIR: join(dir, 'file', 'cache') }, dev);
      await expect(createCache(config)).rejects.toThrow(/CACHE_DIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies the default timeout and jitter to the cache', async () => {
    const cache = await createCache(cacheConfigFromEnv({ CACHE_DEFAULT_TIMEOUT: '42', CACHE_TYPE: 'memory' }, dev));
    expect(cache.defaultTimeout).toBe(42);
    expect(cache.ttl(undefined)).toBe(42);
    const jittered = await createCache(cacheConfigFromEnv({ CACHE_JITTER: '0.5', CACHE_TYPE: 'memory' }, dev));
    const ttl = jittered.ttl(100);
    expect(ttl).toBeGreaterThanOrEqual(50);
    expect(ttl).toBeLessThanOrEqual(100);
  });

  it('loads the Redis backend only when asked, behind a circuit breaker', async () => {
    const config = cacheConfigFromEnv(
      { CACHE_TYPE: 'redis', CACHE_REDIS_URL: 'redis://127.0.0.1:6379/0', CACHE_KEY_PREFIX: `kiln-test:config:${process.pid}:` },
      dev,
    );
    const backend = await createBackend(config);
    try {
      expect(backend.name).toBe('redis');
      expect('breakerState' in backend).toBe(true);
    } finally {
      await backend.close?.();
    }
  });
});
