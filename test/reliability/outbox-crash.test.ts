import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import supertest from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { csrfFrom } from '../support/app.ts';
import { startServerProcess } from '../support/server-process.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { editPost } from './blog.ts';

// A crash between a write's commit and its cache invalidation: the real server kills itself
// (SIGKILL, a test-only hook) right after the commit. The outbox row written in the same
// transaction survives it, and the next start replays it before serving, so the pages the
// persistent cache still holds from before the edit are never served again.

const scratch = mkdtempSync(join(tmpdir(), 'kiln-outbox-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PASSWORD = 'outbox crash password';

// Caches that outlive the process: the memory cache would forget the old pages with the crash.
const caches = await pageCacheBackends({ scratch, variants: ['filesystem', 'redis'] });

/** The outbox rows and the post's title, read straight from the SQLite file. */
function stored(file: string, id: number): { outbox: string[]; title: string } {
  const db = new Database(file, { readonly: true });
  try {
    const outbox = (db.prepare('SELECT tags FROM cache_outbox ORDER BY id').all() as { tags: string }[]).map((row) => row.tags);
    const { title } = db.prepare('SELECT title FROM post WHERE id = ?').get(id) as { title: string };
    return { outbox, title };
  } finally {
    db.close();
  }
}

describe.each(caches)('a crash between commit and invalidation, on the $name cache', (cache) => {
  it.skipIf(cache.skip)('costs no stale page: the next start replays the invalidation before serving', async () => {
    const dir = join(scratch, randomUUID());
    const file = join(dir, 'kiln.sqlite');
    const env = {
      NODE_ENV: 'test',
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${file}`,
      SESSION_SECRET: 'a-session-secret-for-the-outbox-crash',
      AUTHOR_USERNAME: 'author',
      AUTHOR_PASSWORD: PASSWORD,
      ...cache.env(),
    };
    const crashing = await startServerProcess({ env: { ...env, KILN_TEST_CRASH_AFTER_COMMIT: '1' } });
    let id = 0;
    try {
      const author = supertest.agent(crashing.url);
      const form = await author.get('/login').expect(200);
      await author.post('/login').type('form').send({ _csrf: csrfFrom(form.text), username: 'author', password: PASSWORD }).expect(303);
      // The newest demo post: its title is on its page, the index and (in the sidebar) /about.
      const newest = /href="\/posts\/(\d+)"/.exec((await supertest(crashing.url).get('/').expect(200)).text);
      id = Number(newest?.[1]);
      const pages = [`/posts/${id}`, '/', '/about'];
      for (const path of pages) {
        await supertest(crashing.url).get(path).expect(200);
        expect((await supertest(crashing.url).get(path).expect(200)).headers['x-cache'], path).toBe('HIT');
      }
      // The save commits, then the process dies before invalidating: the author never gets the 303.
      expect(await editPost(author, id, { title: 'Renamed just before the crash' }).catch(() => 'connection lost')).toBe('connection lost');
    } finally {
      await crashing.kill();
    }
    const left = stored(file, id);
    expect(left.title).toBe('Renamed just before the crash');
    expect(left.outbox).toContain(JSON.stringify(['lists', 'sidebar', `post:${id}`]));

    const restarted = await startServerProcess({ env });
    try {
      for (const path of [`/posts/${id}`, '/', '/about']) {
        const page = await supertest(restarted.url).get(path).expect(200);
        expect(page.text, path).toContain('Renamed just before the crash');
      }
      expect(stored(file, id).outbox).toEqual([]);
    } finally {
      await restarted.stop();
    }
  }, 120_000);
});
