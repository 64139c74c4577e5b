import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { login, startTestApp } from '../support/app.ts';
import { runLoad, sleep, summarize } from '../support/load.ts';
import { waitUntil } from '../support/wait.ts';
import { READER_FORBIDDEN, baseUrl, closeApp, editPost, parallelReadsMissing, seedBlog, warm } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { cacheOf } from './stored.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-fs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the filesystem cache folder deleted under load', () => {
  it('gives readers 0 errors and correct pages, an edit is seen at once, and hits return', async () => {
    const dir = join(scratch, 'cache');
    const t = await startTestApp({ env: { CACHE_TYPE: 'filesystem', CACHE_DIR: dir } });
    try {
      const blog = await seedBlog(t, 25);
      const author = t.request();
      await login(author);
      const edited = blog.ids[0];
      const paths = blog.paths.filter((path) => !path.endsWith(`/posts/${edited}`));
      await warm(t, paths);

      const duration = scaled(2500, 10_000);
      let deleting = true;
      let deletions = 0;
      const deleter = (async () => {
        while (deleting) {
          try {
            rmSync(dir, { recursive: true, force: true });
            deletions += 1;
          } catch {
            // The blog wrote a file while the folder was being emptied: try again next round.
          }
          // A fault cadence under load, not a wait: the folder goes every 300 ms while readers read.
          await sleep(300);
        }
      })();
      const stale: string[] = [];
      let saved = 0;
      const result = await runLoad({
        baseUrl: baseUrl(t),
        paths,
        expect: blog.expect,
        forbid: READER_FORBIDDEN,
        connections: 4,
        durationMs: duration,
        schedule: [
          {
            atMs: duration / 2,
            name: 'edit',
            run: async () => {
              saved = await editPost(author, edited, { title: 'Edited while the folder vanished' });
              stale.push(...(await parallelReadsMissing(t, `/posts/${edited}`, 'Edited while the folder vanished')));
            },
          },
        ],
      });
      deleting = false;
      await deleter;

      const summary = summarize(result.samples);
      recordFigures('filesystem cache folder deleted every 300 ms', { duration, deletions, ...summary });
      expect(summary.errors, summary.problems.join('\n')).toBe(0);
      expect(saved).toBe(303);
      expect(stale).toEqual([]);
      await waitUntil(
        async () => {
          await t.request().get('/about');
          return (await t.request().get('/about')).headers['x-cache'] === 'HIT';
        },
        { what: 'a HIT once the deletions stop' },
      );
      expect(cacheOf(t).health()).toBe('ok');
    } finally {
      await closeApp(t);
    }
  }, 60_000);
});
