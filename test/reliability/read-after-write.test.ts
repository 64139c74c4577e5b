import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTestApp, type TestApp } from '../support/app.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { closeApp, editPost, parallelReadsMissing, seedBlog, type SeededBlog } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';

// test/blog/caching.test.ts checks every page after each kind of author action (5 edits × 20
// readers); this repeats edits many times with readers racing the writes, on every backend.

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-raw-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const backends = await pageCacheBackends({ scratch, variants: ['memory', 'filesystem', 'redis', 'redis-no-near'] });

describe.each(backends)('read-after-write on $name', (backend) => {
  let t: TestApp;
  let blog: SeededBlog;
  let author: supertest.Agent;

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: backend.env() });
    blog = await seedBlog(t, 12);
    author = t.request();
    await login(author);
  });
  afterAll(async () => {
    if (!backend.skip) await closeApp(t);
  });

  it.skipIf(backend.skip)('gives 20 parallel readers of every page showing the post the new version after each acknowledged edit', async () => {
    const edits = scaled(3, 100);
    const id = blog.ids[blog.ids.length - 1];
    const category = blog.categories[(blog.ids.length - 1) % 3];
    const pages = [`/posts/${id}`, `/api/v1/posts/${id}`, '/', `/category/${category}`, '/feed.xml'];
    // Readers keep the pages cached (and re-cache them) while the author writes.
    let racing = true;
    let background = 0;
    const racers = Array.from({ length: 2 }, async () => {
      while (racing) {
        for (const path of pages) await t.request().get(path);
        background += pages.length;
      }
    });
    let stale = 0;
    let reads = 0;
    const staleExamples: string[] = [];
    try {
      for (let v = 1; v <= edits; v++) {
        const title = `Version ${v} of the newest post`;
        expect(await editPost(author, id, { title })).toBe(303);
        for (const path of pages) {
          const missing = await parallelReadsMissing(t, path, title, 20);
          reads += 20;
          stale += missing.length;
          if (missing.length > 0) staleExamples.push(`${path} v${v}: ${missing.slice(0, 3).join(', ')}`);
        }
      }
    } finally {
      racing = false;
      await Promise.all(racers);
    }
    recordFigures(`read-after-write, ${backend.name}`, { edits, readsAfterEdits: reads, stale, racingReads: background });
    expect(staleExamples).toEqual([]);
  }, scaled(60_000, 900_000));
});
