import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { DatabaseLoginAttempts } from '../../../src/blog/services/login-attempts.ts';
import { LoginThrottle, clientKey } from '../../../src/blog/web/throttle.ts';
import { testDatabase, type TestDatabase } from '../../support/app.ts';
import { FakeClock } from '../../support/fake-clock.ts';

describe('LoginThrottle.attempt()', () => {
  let dir: string;
  let db: TestDatabase;
  let ds: DataSource;
  let clock: FakeClock;
  let throttle: LoginThrottle;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-throttle-'));
    db = testDatabase(dir);
    ds = await openDatabase(db.url);
    clock = new FakeClock();
    throttle = new LoginThrottle({ maxAttempts: 10, windowMs: 15 * 60_000, clock, store: new DatabaseLoginAttempts(ds, { clock }) });
  });
  afterEach(async () => {
    await ds.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('allows 10 attempts and refuses the next with the seconds left in the window', async () => {
    for (let i = 0; i < 10; i++) expect(await throttle.attempt('203.0.113.7')).toEqual({ allowed: true });
    clock.advance(5 * 60_000);
    expect(await throttle.attempt('203.0.113.7')).toEqual({ allowed: false, retryAfterSeconds: 600 });
    expect((await throttle.attempt('198.51.100.1')).allowed).toBe(true);
  });

  it('lets the client try again once the window has ended', async () => {
    for (let i = 0; i < 11; i++) await throttle.attempt('203.0.113.7');
    clock.advance(15 * 60_000 - 1);
    expect(await throttle.attempt('203.0.113.7')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1);
    expect((await throttle.attempt('203.0.113.7')).allowed).toBe(true);
  });

  it('counts an attempt before it answers, so of 40 made at once exactly 10 are allowed', async () => {
    const verdicts = await Promise.all(Array.from({ length: 40 }, () => throttle.attempt('203.0.113.7')));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
  });

  it('starts afresh after succeeded()', async () => {
    for (let i = 0; i < 9; i++) await throttle.attempt('203.0.113.7');
    await throttle.succeeded('203.0.113.7');
    for (let i = 0; i < 10; i++) expect((await throttle.attempt('203.0.113.7')).allowed).toBe(true);
    expect((await throttle.attempt('203.0.113.7')).allowed).toBe(false);
  });

  it('counts every address of an IPv6 /64 together, and an IPv4-mapped address as the IPv4 one', async () => {
    for (let i = 0; i < 10; i++) await throttle.attempt(`2001:db8:aa:bb::${(i + 1).toString(16)}`);
    expect((await throttle.attempt('2001:db8:aa:bb:ffff:1:2:3')).allowed).toBe(false);
    expect((await throttle.attempt('2001:db8:aa:bc::1')).allowed).toBe(true);
    for (let i = 0; i < 10; i++) await throttle.attempt('::ffff:203.0.113.7');
    expect((await throttle.attempt('203.0.113.7')).allowed).toBe(false);
  });
});

describe('clientKey()', () => {
  it('keeps an IPv4 address and unmaps an IPv4-mapped one', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });

  it('reduces every spelling of an IPv6 address to its /64', () => {
    const key = '2001:db8:0:1::/64';
    for (const ip of ['2001:db8:0:1::1', '2001:0DB8:0000:0001:0000:0000:0000:0001', '2001:db8::1:ffff:ffff:ffff:ffff', '2001:db8:0:1::1%eth0', '2001:db8:0:1::192.0.2.1']) {
      expect(clientKey(ip), ip).toBe(key);
    }
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1')).toBe('fe80:0:0:0::/64');
  });
});
