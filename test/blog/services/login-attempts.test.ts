import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { DatabaseLoginAttempts } from '../../../src/blog/services/login-attempts.ts';
import { RedisLoginAttempts } from '../../../src/blog/services/redis-login-attempts.ts';
import { createLoginAttemptStore } from '../../../src/blog/services/session-stores.ts';
import { loadConfig } from '../../../src/config.ts';
import { TEST_DATABASE, testDatabase, type TestDatabase } from '../../support/app.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { loginAttemptContract } from './login-attempt-contract.ts';

const WINDOW = 15 * 60_000;

// Two DataSources on one database stand for two Kiln processes.
loginAttemptContract(`database (${TEST_DATABASE})`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-attempts-'));
  const db = testDatabase(dir);
  const first = await openDatabase(db.url);
  const second = await openDatabase(db.url, { migrate: false });
  const clock = new FakeClock();
  return {
    store: new DatabaseLoginAttempts(first, { clock }),
    peer: new DatabaseLoginAttempts(second, { clock }),
    clock,
    close: async () => {
      await Promise.all([first.destroy(), second.destroy()]);
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('DatabaseLoginAttempts', () => {
  let dir: string;
  let db: TestDatabase;
  let ds: DataSource;
  let clock: FakeClock;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-attempts-'));
    db = testDatabase(dir);
    ds = await openDatabase(db.url);
    clock = new FakeClock();
  });
  afterEach(async () => {
    await ds.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = async (): Promise<string[]> =>
    ((await ds.query('SELECT client FROM login_attempt ORDER BY client')) as { client: string }[]).map((row) => row.client);

  it('prune() deletes only the rows whose window has ended, and says how many', async () => {
    const store = new DatabaseLoginAttempts(ds, { clock, pruneEveryMs: Number.POSITIVE_INFINITY });
    await store.hit('203.0.113.1', WINDOW);
    await store.hit('203.0.113.2', WINDOW);
    clock.advance(10 * 60_000);
    await store.hit('203.0.113.3', WINDOW);
    clock.advance(5 * 60_000);
    expect(await store.prune()).toBe(2);
    expect(await rows()).toEqual(['203.0.113.3']);
  });

  it('deletes expired rows by itself during hit(), at most once per pruneEveryMs, so a spray of addresses does not pile up', async () => {
    const store = new DatabaseLoginAttempts(ds, { clock, pruneEveryMs: WINDOW });
    for (let i = 0; i < 50; i++) await store.hit(`198.51.100.${i}`, WINDOW);
    expect(await rows()).toHaveLength(50);
    clock.advance(WINDOW);
    // Those 50 windows have ended: the next attempt sweeps them away.
    await store.hit('203.0.113.9', WINDOW);
    expect(await rows()).toEqual(['203.0.113.9']);
    clock.advance(WINDOW);
    await store.hit('203.0.113.10', WINDOW);
    // Not yet time for the next sweep within the same period.
    clock.advance(1);
    await store.hit('203.0.113.11', WINDOW);
    expect(await rows()).toEqual(['203.0.113.10', '203.0.113.11']);
  });
});

describe('createLoginAttemptStore()', () => {
  it('counts in the database by default and in Redis beside the sessions with SESSION_STORE=redis', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-attempts-'));
    const db = testDatabase(dir);
    const ds = await openDatabase(db.url);
    try {
      expect(createLoginAttemptStore(loadConfig({ NODE_ENV: 'test' }).session, { dataSource: ds })).toBeInstanceOf(DatabaseLoginAttempts);
      const redis = createLoginAttemptStore(loadConfig({ NODE_ENV: 'test', SESSION_STORE: 'redis' }).session, { dataSource: ds });
      expect(redis).toBeInstanceOf(RedisLoginAttempts);
      await redis.close();
    } finally {
      await ds.destroy();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
