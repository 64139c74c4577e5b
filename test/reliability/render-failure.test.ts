import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostService } from '../../src/blog/services/posts.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { closeApp, seedBlog } from './blog.ts';
import { recordFigures } from './scale.ts';
import { cacheOf } from './stored.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-render-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const backends = await pageCacheBackends({ scratch });

const CONCURRENT = 100;

describe.each(backends)('a render that throws, on $name', (backend) => {
  let t: TestApp;
  let posts: PostService;
  let listPublished: PostService['listPublished'];
  let calls = 0;
  let failing = true;

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: backend.env() });
    await seedBlog(t, 12);
    // Fault injection: the listing query every index page, category page and JSON list uses.
    posts = t.app.context.services.posts;
    listPublished = posts.listPublished.bind(posts);
    posts.listPublished = async (opts) => {
      calls += 1;
      if (failing) throw new Error('injected: the database went away');
      return listPublished(opts);
    };
  });
  afterAll(async () => {
    if (backend.skip) return;
    posts.listPublished = listPublished;
    await closeApp(t);
  });

  for (const [path, type, marker] of [
    ['/', /text\/html/, 'Something went wrong on our side.'],
    ['/api/v1/posts', /json/, '"status":500'],
  ] as const) {
    it.skipIf(backend.skip)(`gives all ${CONCURRENT} concurrent readers of ${path} the error page, stores nothing, and renders again next time`, async () => {
      failing = true;
      const stored: string[] = [];
      const onOp = (event: { op: string; result: string; origin: string; key: string }) => {
        if (event.op === 'set' && event.result === 'set' && event.origin === 'view') stored.push(event.key);
      };
      cacheOf(t).events.on('op', onOp);
      try {
        const before = calls;
        const responses = await Promise.all(Array.from({ length: CONCURRENT }, () => t.request().get(path)));
        const statuses = responses.map((res) => res.status);
        expect(statuses.filter((status) => status !== 500)).toEqual([]);
        for (const res of responses) {
          expect(res.headers['content-type']).toMatch(type);
          expect(res.text).toContain(marker);
          expect(res.text).not.toMatch(/injected|at .*\.ts:\d+/);
        }
        expect(calls - before, 'renders (single-flight shares one failing render)').toBeGreaterThanOrEqual(1);
        expect(stored, 'entries stored for a failed render').toEqual([]);
        recordFigures(`render that throws, ${path}, ${backend.name}`, { concurrent: CONCURRENT, errorPages: statuses.filter((s) => s === 500).length, rendersRun: calls - before, entriesStored: stored.length });

        // The error is not cached: the next request renders again (and fails again).
        const again = calls;
        await t.request().get(path).expect(500);
        expect(calls).toBe(again + 1);

        failing = false;
        const fixed = await t.request().get(path).expect(200);
        expect(fixed.headers['x-cache']).toBe('MISS');
        expect((await t.request().get(path).expect(200)).headers['x-cache']).toBe('HIT');
        expect(stored.length).toBeGreaterThan(0);
      } finally {
        cacheOf(t).events.off('op', onOp);
      }
    }, 60_000);
  }
});
