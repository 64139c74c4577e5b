import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { RedisSessionStore } from '../../../src/blog/services/redis-sessions.ts';
import { createSessionStore } from '../../../src/blog/services/session-stores.ts';
import { DatabaseSessionStore } from '../../../src/blog/services/sessions.ts';
import { loadConfig } from '../../../src/config.ts';
import { TEST_DATABASE, testDatabase, type TestDatabase } from '../../support/app.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { sessionStoreContract } from './session-store-contract.ts';

// Two DataSources on one database stand for two Kiln processes.
sessionStoreContract(`database (${TEST_DATABASE})`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sessions-'));
  const db = testDatabase(dir);
  const first = await openDatabase(db.url);
  const second = await openDatabase(db.url, { migrate: false });
  const clock = new FakeClock();
  return {
    store: new DatabaseSessionStore(first, clock),
    peer: new DatabaseSessionStore(second, clock),
    advance: (ms) => clock.advance(ms),
    close: async () => {
      await Promise.all([first.destroy(), second.destroy()]);
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('DatabaseSessionStore', () => {
  let dir: string;
  let db: TestDatabase;
  let ds: DataSource;
  const clock = new FakeClock();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-sessions-'));
    db = testDatabase(dir);
    ds = await openDatabase(db.url);
  });
  afterEach(async () => {
    await ds.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prune() deletes only the expired rows and says how many', async () => {
    const store = new DatabaseSessionStore(ds, clock);
    await store.set('session-id-short01', { a: 1 }, 1000);
    await store.set('session-id-short02', { a: 2 }, 1000);
    await store.set('session-id-long001', { a: 3 }, 60_000);
    clock.advance(5000);
    expect(await store.prune()).toBe(2);
    expect(await ds.query('SELECT id FROM session')).toEqual([{ id: 'session-id-long001' }]);
  });

  it('stores the expiry as a whole number of milliseconds beyond 32 bits', async () => {
    const store = new DatabaseSessionStore(ds, clock);
    await store.set('session-id-0000001', {}, 1000);
    const [row] = await ds.query('SELECT expires_at FROM session');
    expect(Number(row.expires_at)).toBe(clock.now() + 1000);
    expect(clock.now()).toBeGreaterThan(2 ** 32);
  });
});

describe('createSessionStore()', () => {
  it('builds the store SESSION_STORE names: database by default, redis on request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-sessions-'));
    const db = testDatabase(dir);
    const ds = await openDatabase(db.url);
    try {
      const byDefault = createSessionStore(loadConfig({ NODE_ENV: 'test' }).session, { dataSource: ds });
      expect(byDefault).toBeInstanceOf(DatabaseSessionStore);
      const redis = createSessionStore(loadConfig({ NODE_ENV: 'test', SESSION_STORE: 'redis' }).session, { dataSource: ds });
      expect(redis).toBeInstanceOf(RedisSessionStore);
      await redis.close();
    } finally {
      await ds.destroy();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
