import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/blog/db.ts';
import { PostEntity } from '../../src/blog/entities/post.ts';
import { ConflictError, NotFoundError } from '../../src/blog/errors.ts';
import { PostService, slugify, validatePostInput, type PostInput } from '../../src/blog/services/posts.ts';
import { UserService } from '../../src/blog/services/users.ts';
import { TEST_DATABASE, TEST_PASSWORDS, testDatabase, type TestDatabase } from '../support/app.ts';
import { FakeClock } from '../support/fake-clock.ts';

const MIGRATIONS = ['Initial1700000000000', 'SidebarIndex1700000000001', 'LoginAttempts1700000000002', 'CacheOutbox1700000000003', 'UniqueSlugs1700000000004', 'AuthorListIndexes1700000000005', 'PostsAtScale1700000000006'];

let dir: string;
let db: TestDatabase;
let ds: DataSource;
let clock: FakeClock;
const input = (over: Partial<PostInput> = {}): PostInput => ({
  title: 'Hello',
  body: 'Some *text*',
  category: 'general',
  published: true,
  ...over,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-services-'));
  db = testDatabase(dir);
  ds = await openDatabase(db.url);
  clock = new FakeClock(Date.UTC(2026, 0, 1));
});
afterEach(async () => {
  await ds.destroy();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Undoes the applied migrations, newest first, down to and including `name`. */
async function undoMigrationsTo(name: string): Promise<void> {
  const applied = async (): Promise<string[]> => (await ds.query('SELECT name FROM migrations')).map((r: { name: string }) => r.name);
  while ((await applied()).includes(name)) await ds.undoLastMigration();
}

describe('openDatabase()', () => {
  it.skipIf(TEST_DATABASE !== 'sqlite')('runs the migrations once and keeps SQLite durable (WAL, synchronous=FULL, busy timeout)', async () => {
    const applied = await ds.query('SELECT name FROM migrations ORDER BY id');
    expect(applied.map((r: { name: string }) => r.name)).toEqual(MIGRATIONS);
    expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await ds.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    const [busy] = await ds.query('PRAGMA busy_timeout');
    expect(Number(busy.timeout)).toBeGreaterThan(0);
  });

  it.skipIf(TEST_DATABASE !== 'postgres')('runs the migrations once into the schema named by ?schema= on PostgreSQL', async () => {
    const applied = await ds.query('SELECT name FROM migrations ORDER BY id');
    expect(applied.map((r: { name: string }) => r.name)).toEqual(MIGRATIONS);
    const schema = new URL(db.url).searchParams.get('schema');
    const tables = await ds.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);
    expect(tables.map((r: { table_name: string }) => r.table_name)).toEqual(['app_user', 'cache_outbox', 'listing_count', 'listing_day_count', 'login_attempt', 'migrations', 'post', 'session']);
  });

  it.skipIf(TEST_DATABASE !== 'postgres')('lets processes that start together on one PostgreSQL schema migrate in turn', async () => {
    const fresh = testDatabase(dir);
    try {
      const opened = await Promise.all([openDatabase(fresh.url), openDatabase(fresh.url), openDatabase(fresh.url)]);
      expect(await opened[0].query('SELECT name FROM migrations ORDER BY id')).toEqual(MIGRATIONS.map((name) => ({ name })));
      await Promise.all(opened.map((d) => d.destroy()));
    } finally {
      await fresh.drop();
    }
  });

  it('reopens an existing database without re-running migrations and keeps its posts', async () => {
    await new PostService(ds, clock).create(input());
    await ds.destroy();
    ds = await openDatabase(db.url);
    expect(await new PostService(ds).count()).toBe(1);
  });
});

describe('PostService', () => {
  it('lists published posts newest first, ten a page, with at least one page', async () => {
    const posts = new PostService(ds, clock);
    expect(await posts.listPublished({ page: 1 })).toMatchObject({ posts: [], pages: 1, total: 0 });
    for (let i = 1; i <= 12; i++) {
      clock.advance(1000);
      await posts.create(input({ title: `Post ${i}` }));
    }
    await posts.create(input({ title: 'Draft', published: false }));
    const first = await posts.listPublished({ page: 1 });
    expect(first.pages).toBe(2);
    expect(first.total).toBe(12);
    expect(first.posts.map((p) => p.title).slice(0, 2)).toEqual(['Post 12', 'Post 11']);
    const second = await posts.listPublished({ page: 2 });
    expect(second.posts.map((p) => p.title)).toEqual(['Post 2', 'Post 1']);
  });

  it('filters by category and counts only published posts per category', async () => {
    const posts = new PostService(ds, clock);
    await posts.create(input({ category: 'koa' }));
    await posts.create(input({ category: 'koa' }));
    await posts.create(input({ category: 'cache' }));
    await posts.create(input({ category: 'cache', published: false }));
    expect((await posts.listPublished({ page: 1, category: 'koa' })).total).toBe(2);
    expect(await posts.categories()).toEqual([
      { name: 'cache', count: 1 },
      { name: 'koa', count: 2 },
    ]);
  });

  it('hides drafts unless asked and rejects ids that are not positive integers', async () => {
    const posts = new PostService(ds, clock);
    const draft = await posts.create(input({ published: false }));
    expect(await posts.get(draft.id)).toBeNull();
    expect((await posts.get(draft.id, { includeDrafts: true }))?.id).toBe(draft.id);
    expect(await posts.get(Number.NaN)).toBeNull();
    expect(await posts.get(-1)).toBeNull();
  });

  it('update() bumps the version, keeps the slug and refuses a stale expected version with ConflictError', async () => {
    const posts = new PostService(ds, clock);
    const post = await posts.create(input());
    clock.advance(5000);
    const { before, after } = await posts.update(post.id, input({ title: 'Edited' }), 1);
    expect(before.title).toBe('Hello');
    // A slug names its post for good (an import finds posts by it), so a new title keeps it.
    expect(after).toMatchObject({ title: 'Edited', slug: 'hello', version: 2 });
    expect(after.updatedAt.getTime()).toBe(clock.now());
    await expect(posts.update(post.id, input({ title: 'Lost' }), 1)).rejects.toBeInstanceOf(ConflictError);
    expect((await posts.get(post.id))?.title).toBe('Edited');
    await expect(posts.update(999, input(), 1)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('only one of two concurrent edits from the same version wins', async () => {
    const posts = new PostService(ds, clock);
    const post = await posts.create(input());
    const results = await Promise.allSettled([
      posts.update(post.id, input({ title: 'A' }), 1),
      posts.update(post.id, input({ title: 'B' }), 1),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConflictError)).toHaveLength(1);
  });

  it('remove() deletes and returns the post, null when absent', async () => {
    const posts = new PostService(ds, clock);
    const post = await posts.create(input());
    expect((await posts.remove(post.id))?.id).toBe(post.id);
    expect(await posts.remove(post.id)).toBeNull();
  });
});

describe('post slugs', () => {
  it('stay unique: a second post with the same title gets -2, then -3', async () => {
    const posts = new PostService(ds, clock);
    const slugs = [];
    for (let i = 0; i < 3; i++) slugs.push((await posts.create(input({ title: 'Hello!' }))).slug);
    expect(slugs).toEqual(['hello', 'hello-2', 'hello-3']);
    expect((await posts.create(input({ title: 'Other' }), { slug: 'hello' })).slug).toBe('hello-4');
  });

  it('stay unique when several posts with one title are created at once', async () => {
    const posts = new PostService(ds, clock);
    const created = await Promise.all(Array.from({ length: 5 }, () => posts.create(input({ title: 'Same' }))));
    expect(created.map((p) => p.slug).sort()).toEqual(['same', 'same-2', 'same-3', 'same-4', 'same-5']);
  });

  it('keep ids given to a batch, and the next post gets a fresh id', async () => {
    const posts = new PostService(ds, clock);
    await posts.saveBatch({ creates: [{ input: input(), createdAt: new Date(clock.now()), slug: 'given', id: 40 }] });
    expect((await posts.get(40))?.slug).toBe('given');
    expect((await posts.create(input({ title: 'Next' }))).id).toBe(41);
  });

  it('are unique in the database itself (a unique index)', async () => {
    const posts = new PostService(ds, clock);
    const post = await posts.create(input());
    const row = { title: 'Copy', body: 'b', category: 'c', published: true, slug: post.slug, createdAt: new Date(), updatedAt: new Date(), version: 1 };
    await expect(ds.getRepository(PostEntity).insert(row)).rejects.toThrow(/unique|UNIQUE/);
  });

  it('are made unique by the migration on a database that already has duplicates, oldest post first', async () => {
    await undoMigrationsTo('UniqueSlugs1700000000004');
    const repo = ds.getRepository(PostEntity);
    const row = (slug: string) => ({ title: slug, body: 'b', category: 'c', published: true, slug, createdAt: new Date(clock.now()), updatedAt: new Date(clock.now()), version: 1 });
    for (const slug of ['same', 'same', 'same-2', 'same', 'other']) await repo.insert(row(slug));
    await ds.runMigrations();
    const stored = await repo.find({ order: { id: 'ASC' } });
    expect(stored.map((p) => p.slug)).toEqual(['same', 'same-3', 'same-2', 'same-4', 'other']);
  });
});

describe('validatePostInput()', () => {
  it('accepts a valid form and reads the published checkbox', () => {
    expect(validatePostInput({ title: ' T ', body: 'b', category: 'Web-Dev', published: 'on' })).toEqual({
      ok: true,
      input: { title: 'T', body: 'b', category: 'web-dev', published: true },
    });
  });

  it('names every invalid field and keeps the values for the form', () => {
    const result = validatePostInput({ title: '', body: ' ', category: 'not a slug!', published: 'on' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(['body', 'category', 'title']);
    expect(result.values.category).toBe('not a slug!');
  });

  it('rejects non-string fields and over-long titles', () => {
    const result = validatePostInput({ title: 'x'.repeat(201), body: ['a'], category: 'ok' });
    expect(result.ok).toBe(false);
  });
});

describe('slugify()', () => {
  it('makes ASCII dash-separated slugs and never an empty one', () => {
    expect(slugify('Héllo, Wörld!')).toBe('hello-world');
    expect(slugify('日本語')).toBe('post');
  });
});

describe('UserService', () => {
  it('verifies the right password only, and unknown users fail the same way', async () => {
    const users = new UserService(ds, { hasher: TEST_PASSWORDS });
    expect(await users.createIfMissing('author', 'correct horse')).toBe(true);
    expect(await users.createIfMissing('author', 'other password')).toBe(false);
    expect(await users.verify('author', 'correct horse')).toMatchObject({ username: 'author' });
    expect(await users.verify('author', 'wrong')).toBeNull();
    expect(await users.verify('nobody', 'correct horse')).toBeNull();
  });
});
