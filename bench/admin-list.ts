import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { openDatabase } from '../src/blog/db.ts';
import { ensureAuthor } from '../src/blog/seed.ts';
import { PostService, type NewPost } from '../src/blog/services/posts.ts';
import { UserService } from '../src/blog/services/users.ts';
import { loadConfig } from '../src/config.ts';
import { generatePosts } from './posts-data.ts';
import { median, percentile } from './stats.ts';

/**
 * `npm run bench:admin [-- POSTS [RUNS]]` (default 20,000 posts, 30 runs): the author's post list
 * (`GET /admin`) on a fresh SQLite database of POSTS generated posts (every tenth a draft),
 * through the real app on loopback with a signed-in author (memory cache, production settings).
 * Prints, per URL, the median and 90th percentile time to the whole response and its size,
 * after a warm-up of 5 requests.
 */

const AUTHOR = { username: 'author', password: randomBytes(18).toString('base64url') };
const silent = { info: () => {}, warn: () => {}, error: (msg: string) => void process.stderr.write(`${msg}\n`) };

/** `name=value` pairs of a response's Set-Cookie headers, as one Cookie header. */
function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
}

function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]*)"/.exec(html);
  if (!match) throw new Error('no _csrf field in the page');
  return match[1];
}

/** Signs in through the real form and returns the session cookie. */
async function signIn(base: string): Promise<string> {
  const form = await fetch(`${base}/login`);
  const body = new URLSearchParams({ _csrf: csrfOf(await form.text()), ...AUTHOR });
  const res = await fetch(`${base}/login`, { method: 'POST', body, headers: { cookie: cookiesOf(form) }, redirect: 'manual' });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  return cookiesOf(res);
}

async function measure(base: string, path: string, cookie: string, runs: number): Promise<string> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = -5; i < runs; i++) {
    const started = performance.now();
    const res = await fetch(`${base}${path}`, { headers: { cookie }, redirect: 'manual' });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    if (i >= 0) times.push(performance.now() - started);
    bytes = body.length;
  }
  return `${path.padEnd(44)} median ${median(times).toFixed(1).padStart(7)} ms   p90 ${percentile(times, 90).toFixed(1).padStart(7)} ms   ${(bytes / 1024).toFixed(1).padStart(8)} KB`;
}

async function main(count: number, runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-admin-bench-'));
  try {
    const config = loadConfig({
      NODE_ENV: 'production',
      SESSION_SECRET: randomBytes(24).toString('hex'),
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`,
      AUTHOR_USERNAME: AUTHOR.username,
      AUTHOR_PASSWORD: AUTHOR.password,
      SEED_DEMO: '0',
      CACHE_TYPE: 'memory',
      KILN_WORKERS: '1',
    });
    const dataSource = await openDatabase(config.databaseUrl);
    await ensureAuthor(config, new UserService(dataSource), silent);
    const posts = new PostService(dataSource);
    const generated = generatePosts(count);
    const started = performance.now();
    for (let i = 0; i < generated.length; i += 500) {
      const creates: NewPost[] = generated.slice(i, i + 500).map((p, j) => ({
        input: { title: p.title, body: p.body, category: p.category, published: (i + j) % 10 !== 0 },
        createdAt: new Date(p.created_at),
        slug: p.slug,
      }));
      await posts.saveBatch({ creates });
    }
    process.stdout.write(`${count} posts written in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    const app = await createApp(config, { dataSource, logger: silent, accessLog: null });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const cookie = await signIn(base);
      // A common word, a search matching nothing (every title read), two filters, the last page.
      const paths = ['/admin', '/admin?page=2', '/admin?q=cache', '/admin?q=no+such+title', '/admin?status=draft&category=python', `/admin?page=${Math.ceil(count / 50)}`];
      for (const path of paths) process.stdout.write(`${await measure(base, path, cookie, runs)}\n`);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dataSource.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(Number(process.argv[2] ?? 20_000), Number(process.argv[3] ?? 30)).catch((error: unknown) => {
  process.stderr.write(`admin-list bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
