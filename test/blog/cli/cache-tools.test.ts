import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { PostService } from '../../../src/blog/services/posts.ts';
import { warmPaths } from '../../../src/blog/warm.ts';
import { startTestApp } from '../../support/app.ts';
import { compiled } from '../../support/build.ts';
import { freePort } from '../../support/children.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-cache-tools-'));
  env = {
    NODE_ENV: 'test',
    DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`,
    CACHE_TYPE: 'filesystem',
    CACHE_DIR: join(dir, 'cache'),
    SITE_URL: 'http://kiln.test',
  };
  const ds = await openDatabase(env.DATABASE_URL);
  const posts = new PostService(ds);
  for (let i = 1; i <= 13; i++) {
    await posts.create({ title: `Post ${i}`, body: `Body ${i}`, category: i % 2 ? 'odd' : 'even', published: true }, { createdAt: new Date(Date.UTC(2025, 0, i)) });
  }
  await ds.destroy();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a compiled CLI command (as `npm run cache:warm` / `cache:clear` run it) with the test's environment and `extra`. */
const cli = (script: string, extra: Record<string, string> = {}) =>
  run(process.execPath, [compiled(`src/blog/cli/${script}.ts`)], { cwd: ROOT, env: { ...process.env, ...env, ...extra } });

describe('warmPaths()', () => {
  it('lists every index and category page, the feed, about and the newest posts', async () => {
    const ds = await openDatabase(env.DATABASE_URL);
    const paths = await warmPaths(new PostService(ds));
    await ds.destroy();
    expect(paths).toEqual(expect.arrayContaining(['/', '/?page=2', '/category/odd', '/category/even', '/feed.xml', '/about', '/posts/13', '/posts/1']));
    expect(paths).not.toContain('/?page=3');
  });
});

describe('npm run cache:warm and cache:clear', () => {
  it('warm fills the configured cache with progress, so a server starts with hits; clear empties it', async () => {
    const warm = await cli('cache-warm');
    expect(warm.stdout).toMatch(/warming \d+\/\d+ pages/);
    expect(warm.stdout).toMatch(/warmed \d+ pages/);

    const app = await startTestApp({ env });
    try {
      for (const path of ['/', '/?page=2', '/category/odd', '/posts/13']) {
        expect((await app.request().get(path).expect(200)).headers['x-cache'], path).toBe('HIT');
      }
      const clear = await cli('cache-clear');
      expect(clear.stdout).toContain('cleared every entry');
      expect((await app.request().get('/').expect(200)).headers['x-cache']).toBe('MISS');
    } finally {
      await app.close();
    }
  }, 120_000);

  it('explains that a memory cache cannot be warmed or cleared from another process', async () => {
    const { stderr } = await cli('cache-clear', { CACHE_TYPE: 'memory' });
    expect(stderr).toContain('lives inside each server process');
  }, 60_000);

  it('clear also purges everything from the shared HTTP caches, and fails when one cannot be purged', async () => {
    const purges: string[] = [];
    const varnish = createServer((req, res) => {
      purges.push(`${req.method} ${String(req.headers['xkey-purge'])}`);
      res.setHeader('xkey-purged', '42');
      res.end();
    });
    await new Promise<void>((resolve) => varnish.listen(0, '127.0.0.1', () => resolve()));
    const up = `http://127.0.0.1:${(varnish.address() as AddressInfo).port}/`;
    const down = `http://127.0.0.1:${await freePort()}/`;
    try {
      const ok = await cli('cache-clear', { CACHE_TYPE: 'memory', HTTP_CACHE_PURGE_URLS: up });
      expect(purges).toEqual(['PURGE all']);
      expect(ok.stdout).toContain(`purged ${up} (42 objects)`);
      const failed = await cli('cache-clear', { CACHE_TYPE: 'memory', HTTP_CACHE_PURGE_URLS: `${up},${down}` }).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(`could not purge ${down}`);
      expect(purges).toEqual(['PURGE all', 'PURGE all']);
    } finally {
      varnish.closeAllConnections();
      await new Promise<void>((resolve) => varnish.close(() => resolve()));
    }
  }, 60_000);
});
