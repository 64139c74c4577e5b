import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { UserEntity } from '../../../src/blog/entities/user.ts';
import { PasswordHasher } from '../../../src/blog/password.ts';
import { UserService } from '../../../src/blog/services/users.ts';
import { testDatabase, type TestDatabase } from '../../support/app.ts';

const storedParams = (hash: string | undefined) => (hash ?? '').split('$').slice(1, 4).map(Number);

// These use the real hasher (N=2^17, 0.3–2 s a hash on this machine): what they check is its parameters.
describe('UserService with the real hasher', () => {
  let dir: string;
  let db: TestDatabase;
  let ds: DataSource;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-users-'));
    db = testDatabase(dir);
    ds = await openDatabase(db.url);
  });
  afterEach(async () => {
    await ds.destroy();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const storedHash = async (username: string): Promise<string | undefined> => (await ds.getRepository(UserEntity).findOneBy({ username }))?.passwordHash;
  const insertWeak = async (username: string, password: string): Promise<string> => {
    const weak = await new PasswordHasher({ N: 2 ** 14, r: 8, p: 1 }).hash(password);
    await ds.getRepository(UserEntity).insert({ username, passwordHash: weak });
    return weak;
  };

  it('replaces a hash made with N=2^14 by one of N=2^17, r=8, p=1 at the next successful login; the password still works', async () => {
    const weak = await insertWeak('author', 'correct horse');
    const users = new UserService(ds);
    expect(await users.verify('author', 'correct horse')).toMatchObject({ username: 'author' });
    const upgraded = await storedHash('author');
    expect(upgraded).not.toBe(weak);
    expect(storedParams(upgraded)).toEqual([2 ** 17, 8, 1]);
    expect(await users.verify('author', 'correct horse')).toMatchObject({ username: 'author' });
    expect(await storedHash('author')).toBe(upgraded);
  });

  it('leaves a weak hash alone after a wrong password', async () => {
    const weak = await insertWeak('author', 'correct horse');
    expect(await new UserService(ds).verify('author', 'wrong horse')).toBeNull();
    expect(await storedHash('author')).toBe(weak);
  });
});
