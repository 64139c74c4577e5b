import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { PostEntity, type PostRow } from '../../../src/blog/entities/post.ts';
import { PublishedListing, SEEK_FROM } from '../../../src/blog/services/listing.ts';
import { PostService, type NewPost } from '../../../src/blog/services/posts.ts';
import { attachSqlLogger } from '../../../src/blog/web/sql-logger.ts';
import { TEST_DATABASE, testDatabase, type TestDatabase } from '../../support/app.ts';
import { FakeClock } from '../../support/fake-clock.ts';

let dir: string;
let db: TestDatabase;
let ds: DataSource;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-listing-'));
  db = testDatabase(dir);
  ds = await openDatabase(db.url);
});
afterEach(async () => {
  await ds.destroy();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const DAY_MS = 24 * 60 * 60 * 1000;
const START = Date.UTC(2025, 0, 1, 8);
/** Posts on the busiest day of {@link blogPosts}. */
const BUSY_DAY = 40;

/**
 * `n` posts in categories a, b and c (c the smallest), every 9th a draft, in an order unrelated
 * to their dates (ids do not follow time): about 12 a day over many days, with ties on the exact
 * time, and one day with {@link BUSY_DAY} posts, a dozen of them at the same millisecond.
 */
function blogPosts(n: number): NewPost[] {
  const posts: NewPost[] = [];
  for (let i = 0; i < n; i++) {
    const busy = i < BUSY_DAY;
    const time = busy ? START + 20 * DAY_MS + (i < 12 ? 0 : i * 1000) : START + Math.floor(i / 12) * DAY_MS + (i % 4) * 60_000;
    const category = i % 7 === 0 ? 'c' : i % 2 === 0 ? 'a' : 'b';
    posts.push({ input: { title: `Post ${i}`, body: `Body ${i}`, category, published: i % 9 !== 4 }, createdAt: new Date(time), slug: `post-${i}` });
  }
  // A fixed shuffle, so ids and dates disagree.
  for (let i = posts.length - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [posts[i], posts[j]] = [posts[j], posts[i]];
  }
  return posts;
}

async function insert(posts: readonly NewPost[]): Promise<void> {
  const service = new PostService(ds);
  for (let i = 0; i < posts.length; i += 200) await service.saveBatch({ creates: posts.slice(i, i + 200) });
}

/** Every published post of a listing in the listing's order, as one query reads it. */
function everyPublished(category?: string): Promise<PostRow[]> {
  const where = category === undefined ? { published: true } : { published: true, category };
  return ds.getRepository(PostEntity).find({ where, order: { createdAt: 'DESC', id: 'DESC' } });
}

/** The counts the listing tables must hold, computed from the posts themselves. */
async function countsFromPosts(): Promise<{ totals: Record<string, number>; days: Record<string, number> }> {
  const totals: Record<string, number> = {};
  const days: Record<string, number> = {};
  for (const post of await everyPublished()) {
    const day = post.createdAt.toISOString().slice(0, 10);
    for (const listing of ['', post.category]) {
      totals[listing] = (totals[listing] ?? 0) + 1;
      days[`${listing}/${day}`] = (days[`${listing}/${day}`] ?? 0) + 1;
    }
  }
  return { totals, days };
}

/** The listing tables as they are, without the rows that fell to zero. */
async function storedCounts(): Promise<{ totals: Record<string, number>; days: Record<string, number> }> {
  const totals: Record<string, number> = {};
  const days: Record<string, number> = {};
  for (const row of await ds.query('SELECT listing, posts FROM listing_count')) if (Number(row.posts) !== 0) totals[row.listing] = Number(row.posts);
  for (const row of await ds.query('SELECT listing, day, posts FROM listing_day_count')) if (Number(row.posts) !== 0) days[`${row.listing}/${row.day}`] = Number(row.posts);
  return { totals, days };
}

const recorders = new WeakMap<DataSource, { seen: string[] | undefined }>();

/** Records the SQL of every query while `work` runs. */
async function sqlOf(work: () => Promise<unknown>): Promise<string[]> {
  let recorder = recorders.get(ds);
  if (recorder === undefined) {
    const created: { seen: string[] | undefined } = { seen: undefined };
    attachSqlLogger(ds, { recordQuery: (q) => created.seen?.push(q.sql) });
    recorders.set(ds, created);
    recorder = created;
  }
  const seen: string[] = [];
  recorder.seen = seen;
  try {
    await work();
  } finally {
    recorder.seen = undefined;
  }
  return seen;
}

const readsPosts = (sql: string) => /FROM "(\w+"\.")?post"/.test(sql);

describe('PublishedListing.page()', () => {
  it('gives every page exactly the posts, in order, that LIMIT/OFFSET gives: from either end, with or without a start day', async () => {
    await insert(blogPosts(400));
    const service = new PostService(ds);
    // Unpublish, move, redate and delete some posts, so counts fall and days empty.
    const some = (await everyPublished()).filter((_, i) => i % 17 === 3);
    for (const [i, post] of some.entries()) {
      if (i % 4 === 0) await service.remove(post.id);
      else {
        const createdAt = i % 4 === 1 ? new Date(post.createdAt.getTime() - 3 * DAY_MS) : post.createdAt;
        await service.saveBatch({
          replaces: [{ before: post, input: { title: post.title, body: post.body, category: i % 4 === 2 ? 'c' : post.category, published: i % 4 !== 3 }, createdAt, slug: post.slug }],
        });
      }
    }
    // Every read from a start day, every read by OFFSET from the nearer end, and the default mix.
    const always = new PublishedListing(ds, { seekFrom: 1 });
    const never = new PublishedListing(ds, { seekFrom: Number.POSITIVE_INFINITY });
    const modes = [
      { listing: always, perPage: 10 },
      { listing: always, perPage: 7 },
      { listing: never, perPage: 10 },
      { listing: new PublishedListing(ds), perPage: 7 },
    ];
    for (const category of [undefined, 'a', 'b', 'c']) {
      const all = await everyPublished(category);
      for (const { listing, perPage } of modes) {
        const pages = Math.max(1, Math.ceil(all.length / perPage));
        for (let page = 1; page <= pages + 1; page++) {
          const result = await listing.page({ page, perPage, category });
          expect({ category, perPage, page, total: result.total, pages: result.pages }).toEqual({ category, perPage, page, total: all.length, pages });
          expect(result.posts, `${category ?? 'all'} page ${page} of ${perPage}`).toEqual(all.slice((page - 1) * perPage, page * perPage));
        }
      }
    }
  });

  it('knows a page past the end and a category without posts from the counts alone', async () => {
    await insert(blogPosts(60));
    const listing = new PublishedListing(ds);
    const total = (await everyPublished()).length;
    for (const [opts, pages] of [
      [{ page: Math.ceil(total / 10) + 1, perPage: 10 }, Math.ceil(total / 10)],
      [{ page: 300, perPage: 10, category: 'a' }, Math.ceil((await everyPublished('a')).length / 10)],
      [{ page: 1, perPage: 10, category: 'nothing-here' }, 1],
    ] as const) {
      let result: Awaited<ReturnType<PublishedListing['page']>> | undefined;
      const sql = await sqlOf(async () => (result = await listing.page(opts)));
      expect(result).toMatchObject({ posts: [], pages });
      expect(sql.filter(readsPosts)).toEqual([]);
    }
  });

  it('skips at most a day of posts, or fewer than SEEK_FROM, whatever the page', async () => {
    await insert(blogPosts(2 * SEEK_FROM + 100));
    const listing = new PublishedListing(ds);
    const total = (await everyPublished()).length;
    const offsets: number[] = [];
    for (let page = 1; page <= Math.ceil(total / 10); page++) {
      for (const sql of await sqlOf(() => listing.page({ page, perPage: 10 }))) {
        const offset = /OFFSET (\d+)/.exec(sql);
        if (readsPosts(sql) && offset) offsets.push(Number(offset[1]));
      }
    }
    expect(Math.max(...offsets)).toBeLessThan(Math.max(SEEK_FROM, BUSY_DAY));
  });

  it('has one empty page for a blog with no published posts', async () => {
    await insert(blogPosts(5).map((post) => ({ ...post, input: { ...post.input, published: false } })));
    expect(await new PublishedListing(ds).page({ page: 1, perPage: 10 })).toEqual({ posts: [], page: 1, pages: 1, total: 0 });
    expect(await new PostService(ds).categories()).toEqual([]);
  });
});

describe('PostService.categories()', () => {
  it('reads the kept counts, never the posts', async () => {
    await insert(blogPosts(50));
    const posts = await everyPublished();
    const expected = ['a', 'b', 'c'].map((name) => ({ name, count: posts.filter((p) => p.category === name).length }));
    let categories: unknown;
    const sql = await sqlOf(async () => (categories = await new PostService(ds).categories()));
    expect(categories).toEqual(expected);
    expect(sql.filter(readsPosts)).toEqual([]);
  });
});

describe('the listing counts', () => {
  it('follow creates, edits, publishing, moves, redating, deletes and batches', async () => {
    const posts = new PostService(ds, new FakeClock(START));
    await insert(blogPosts(30));
    const first = await posts.create({ title: 'New', body: 'b', category: 'd', published: true });
    const draft = await posts.create({ title: 'Draft', body: 'b', category: 'd', published: false });
    expect(await storedCounts()).toEqual(await countsFromPosts());
    await posts.update(draft.id, { title: 'Draft', body: 'b', category: 'd', published: true });
    await posts.update(first.id, { title: 'Moved', body: 'b', category: 'e', published: true });
    expect(await storedCounts()).toEqual(await countsFromPosts());
    const [a, b, c, d] = await everyPublished();
    await posts.update(a.id, { title: a.title, body: a.body, category: a.category, published: false });
    await posts.remove(b.id);
    await posts.saveBatch({
      replaces: [
        { before: c, input: { title: c.title, body: c.body, category: 'f', published: true }, createdAt: new Date(START - 40 * DAY_MS), slug: c.slug },
        { before: d, input: { title: d.title, body: d.body, category: d.category, published: true }, createdAt: new Date(START - 50 * DAY_MS), slug: d.slug },
      ],
    });
    expect(await storedCounts()).toEqual(await countsFromPosts());
    await ds.query('DELETE FROM post WHERE id <= 10');
    expect(await storedCounts()).toEqual(await countsFromPosts());
  });

  it.skipIf(TEST_DATABASE !== 'postgres')('are emptied when the posts are truncated (PostgreSQL)', async () => {
    await insert(blogPosts(20));
    await ds.query('TRUNCATE post');
    expect(await storedCounts()).toEqual({ totals: {}, days: {} });
  });

  it('count the posts that were there before the migration', async () => {
    const applied = async (): Promise<string[]> => (await ds.query('SELECT name FROM migrations')).map((r: { name: string }) => r.name);
    while ((await applied()).includes('PostsAtScale1700000000006')) await ds.undoLastMigration();
    const rows = blogPosts(50).map((p) => ({ ...p.input, slug: p.slug, createdAt: p.createdAt, updatedAt: p.createdAt, version: 1 }));
    await ds.getRepository(PostEntity).insert(rows);
    await ds.runMigrations({ transaction: 'each' });
    const counts = await countsFromPosts();
    expect(Object.keys(counts.days).length).toBeGreaterThan(3);
    expect(await storedCounts()).toEqual(counts);
  });

  it('are guarded at start-up: a database whose post table lost a trigger is refused', async () => {
    await ds.query(TEST_DATABASE === 'postgres' ? 'DROP TRIGGER post_listing_update ON post' : 'DROP TRIGGER post_listing_update');
    await expect(openDatabase(db.url)).rejects.toThrow(/post_listing_update/);
  });
});
