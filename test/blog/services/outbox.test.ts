import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postChangeTags } from '../../../src/blog/caching.ts';
import { openDatabase } from '../../../src/blog/db.ts';
import { OutboxEntity } from '../../../src/blog/entities/outbox.ts';
import { ConflictError } from '../../../src/blog/errors.ts';
import { CacheOutbox, type Invalidate } from '../../../src/blog/services/outbox.ts';
import { PostService, type PostInput } from '../../../src/blog/services/posts.ts';
import { waitUntil } from '../../support/wait.ts';
import { testDatabase, type TestDatabase } from '../../support/app.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

let dir: string;
let db: TestDatabase;
let ds: DataSource;

const input = (over: Partial<PostInput> = {}): PostInput => ({ title: 'Hello', body: 'Body', category: 'koa', published: true, ...over });

/** A listener that records what it was handed and answers as told. */
function listener(answer = true): Invalidate & { calls: string[][]; answer: boolean } {
  const fn = Object.assign(
    async (tags: readonly string[]) => {
      fn.calls.push([...tags]);
      return fn.answer;
    },
    { calls: [] as string[][], answer },
  );
  return fn;
}

function wired(invalidate: Invalidate | null, extra: { afterCommit?: () => void; sweepMs?: number } = {}) {
  const outbox = new CacheOutbox(ds, { invalidate, logger: new MemoryLogger(), ...extra });
  return { outbox, posts: new PostService(ds, undefined, { tagsFor: postChangeTags, outbox }) };
}

async function rows(): Promise<string[][]> {
  const found = await ds.getRepository(OutboxEntity).find({ order: { id: 'ASC' } });
  return found.map((row) => JSON.parse(row.tags));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-outbox-'));
  db = testDatabase(dir);
  ds = await openDatabase(db.url);
});
afterEach(async () => {
  await ds.destroy();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a post write through PostService', () => {
  it('records its tags in the outbox in its own transaction, and leaves them when nothing can deliver them', async () => {
    const { posts } = wired(null);
    const post = await posts.create(input());
    await posts.update(post.id, input({ body: 'New body' }));
    await posts.remove(post.id);
    expect(await rows()).toEqual([
      ['lists', 'sidebar'],
      ['lists', `post:${post.id}`],
      ['lists', 'sidebar', `post:${post.id}`],
    ]);
  });

  it('hands the tags to the listener after the commit, removes the row, and resolves only then', async () => {
    let release = () => {};
    const seen: { tags: string[]; committed: number }[] = [];
    const invalidate: Invalidate = async (tags) => {
      // The post is committed (visible from a fresh query) by the time the listener runs.
      seen.push({ tags: [...tags], committed: await ds.getRepository('Post').count() });
      await new Promise<void>((resolve) => (release = resolve));
      return true;
    };
    const { posts } = wired(invalidate);
    let resolved = false;
    const creating = posts.create(input()).then(() => (resolved = true));
    await waitUntil(async () => seen.length === 1, { timeoutMs: 2000, what: 'the listener is called' });
    expect(resolved).toBe(false);
    release();
    await creating;
    expect(seen).toEqual([{ tags: ['lists', 'sidebar'], committed: 1 }]);
    expect(await rows()).toEqual([]);
  });

  it('records nothing when the write does not happen (a conflict); a failed batch rolls its row back and still invalidates', async () => {
    const calls = listener(false);
    const { posts } = wired(calls);
    const post = await posts.create(input());
    await expect(posts.update(post.id, input({ title: 'Late' }), 7)).rejects.toBeInstanceOf(ConflictError);
    const stale = { ...post, version: 99 };
    await expect(
      posts.saveBatch({ creates: [{ input: input({ title: 'Batch' }), createdAt: new Date(), slug: 'batch' }], replaces: [{ before: stale, input: input(), createdAt: new Date(), slug: post.slug }] }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await posts.count()).toBe(1);
    expect(await rows()).toEqual([['lists', 'sidebar']]);
    // The batch rolled back, but readers sharing SQLite's connection may have seen its rows meanwhile.
    expect(calls.calls.at(-1)).toEqual(['lists', 'sidebar', `post:${post.id}`]);
  });
});

describe('CacheOutbox.sweep()', () => {
  it('delivers rows left by a cache outage once the cache answers, merged, and removes them', async () => {
    const calls = listener(false);
    const { posts, outbox } = wired(calls);
    const a = await posts.create(input({ title: 'A' }));
    await posts.update(a.id, input({ title: 'A', body: 'changed' }));
    expect(await rows()).toHaveLength(2);
    expect(await outbox.sweep()).toBe(0);
    expect(await rows()).toHaveLength(2);
    calls.answer = true;
    calls.calls.length = 0;
    expect(await outbox.sweep()).toBe(2);
    expect(calls.calls).toEqual([['lists', 'sidebar', `post:${a.id}`]]);
    expect(await rows()).toEqual([]);
  });

  it('delivers rows written by another process that has no listener (the import command)', async () => {
    const { posts: cli } = wired(null);
    await cli.create(input());
    const calls = listener();
    const { outbox: server } = wired(calls);
    expect(await server.sweep()).toBe(1);
    expect(calls.calls).toEqual([['lists', 'sidebar']]);
    expect(await rows()).toEqual([]);
  });

  it('leaves a row alone while this process is delivering it', async () => {
    let release = () => {};
    const calls: string[][] = [];
    const invalidate: Invalidate = async (tags) => {
      calls.push([...tags]);
      if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return true;
    };
    const { posts, outbox } = wired(invalidate);
    const creating = posts.create(input());
    await waitUntil(async () => calls.length === 1, { timeoutMs: 2000, what: 'the delivery starts' });
    expect(await outbox.sweep()).toBe(0);
    release();
    await creating;
    expect(calls).toHaveLength(1);
  });

  it('runs every sweepMs once started, and no more once stopped', async () => {
    const { posts: cli } = wired(null);
    const calls = listener();
    const { outbox } = wired(calls, { sweepMs: 20 });
    outbox.start();
    await cli.create(input({ title: 'First' }));
    await waitUntil(async () => (await rows()).length === 0, { timeoutMs: 2000, what: 'the periodic sweep' });
    await outbox.stop();
    await cli.create(input({ title: 'Second' }));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await rows()).toHaveLength(1);
    expect(calls.calls).toHaveLength(1);
  });

  it('runs the test-only hook after the commit and before the invalidation', async () => {
    const order: string[] = [];
    const invalidate: Invalidate = async () => {
      order.push('invalidate');
      return true;
    };
    const { posts } = wired(invalidate, { afterCommit: () => order.push('after commit') });
    await posts.create(input());
    expect(order).toEqual(['after commit', 'invalidate']);
  });
});
