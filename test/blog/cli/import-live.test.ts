import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePosts } from '../../../bench/posts-data.ts';
import { waitUntil } from '../../support/wait.ts';
import { freePort } from '../../support/children.ts';
import { startServerProcess } from '../../support/server-process.ts';
import { pageCacheBackends } from '../../support/page-cache-backends.ts';
import { runImport } from './run-import.ts';

// The import is a write like the author's: readers of a running Kiln (a real src/server.ts) see
// the imported posts on their next request, whichever cache it uses.

const scratch = mkdtempSync(join(tmpdir(), 'kiln-import-live-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const posts = generatePosts(300, 11);
const file = join(scratch, 'posts.json');
beforeAll(() => writeFileSync(file, JSON.stringify(posts)));

/** The demo blog has 12 posts, 2 of them in "databases". */
const DEMO_POSTS = 12;
const DEMO_DATABASES = 2;

const backends = await pageCacheBackends({ scratch });

/** What readers must see once the import is visible: page counts, sidebar counts, the feed, the JSON list. */
function expectations(total: number, databases: number): Record<string, (text: string) => boolean> {
  const pages = Math.ceil(total / 10);
  const newest = posts.at(-1)?.title ?? '';
  return {
    '/': (text) => text.includes(`Page 1 of ${pages}`),
    '/category/databases': (text) => text.includes(`databases</a> <span class="count">(${databases})`),
    '/feed.xml': (text) => total === DEMO_POSTS || text.includes(escapeXml(newest)),
    '/api/v1/posts': (text) => (JSON.parse(text) as { pages: number }).pages === pages,
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

describe.each(backends)('npm run import beside a running Kiln on the $name cache', (backend) => {
  it.skipIf(backend.skip)(`shows readers the imported posts on their next request${backend.name === 'memory' ? ' (the server sweeps them within 2 s)' : ''}`, async () => {
    const dir = join(scratch, randomUUID());
    const env = { NODE_ENV: 'test', DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`, ...backend.env() };
    const server = await startServerProcess({ env });
    try {
      const get = async (path: string) => {
        const res = await fetch(server.url + path);
        return { cache: res.headers.get('x-cache'), text: await res.text() };
      };
      const before = expectations(DEMO_POSTS, DEMO_DATABASES);
      for (const [path, holds] of Object.entries(before)) {
        await get(path);
        const again = await get(path);
        expect([path, again.cache, holds(again.text)]).toEqual([path, 'HIT', true]);
      }

      const result = await runImport([file], env);
      expect(result.stdout).toMatch(/: 300 new, 0 unchanged \(/);
      const after = expectations(DEMO_POSTS + 300, DEMO_DATABASES + posts.filter((p) => p.category === 'databases').length);
      const stale = async () => {
        const wrong: string[] = [];
        for (const [path, holds] of Object.entries(after)) if (!holds((await get(path)).text)) wrong.push(path);
        return wrong;
      };
      if (backend.name === 'memory') {
        expect(result.stdout).toContain('the running Kiln took the changes');
        await waitUntil(async () => (await stale()).length === 0, { timeoutMs: 2000, what: 'readers see the import' });
      } else {
        expect(result.stdout).toContain(`the ${backend.name} cache is invalidated`);
        expect(await stale()).toEqual([]);
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('npm run import when the configured cache cannot be reached', () => {
  it('says so in one line, with what to do, and leaves the invalidations for a server to replay', async () => {
    const dir = join(scratch, randomUUID());
    const database = join(dir, 'kiln.sqlite');
    const env = { NODE_ENV: 'test', DATA_DIR: dir, DATABASE_URL: `sqlite:${database}`, CACHE_TYPE: 'redis', CACHE_REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
    const result = await runImport([file], env);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^warning: the redis cache could not be reached, .* npm run cache:clear$/);
    const db = new Database(database, { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM cache_outbox').get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  }, 60_000);
});
