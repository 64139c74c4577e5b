import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from './server-process.ts';

/** The author account of every fleet. */
export const FLEET_AUTHOR = { username: 'author', password: 'correct horse battery staple' } as const;

/** Several real Kiln servers sharing one SQLite file and one cache deployment. */
export interface KilnFleet {
  readonly nodes: readonly ServerProcess[];
  /** Stops every server and removes the data folder. */
  stop(): Promise<void>;
}

/**
 * Starts `count` Kiln processes (`src/server.ts`, production mode, one worker each) on distinct
 * ports, sharing a fresh SQLite file with the demo posts and the cache settings in `cacheEnv`.
 * The first one migrates and seeds before the others start, so they never race on the schema.
 */
export async function startKilnFleet(count: number, cacheEnv: Record<string, string>): Promise<KilnFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fleet-'));
  const env = {
    NODE_ENV: 'production',
    KILN_WORKERS: '1',
    SESSION_SECRET: 'fleet-session-secret-0123456789abcdef',
    DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`,
    SEED_DEMO: '1',
    SITE_URL: 'http://kiln.test',
    AUTHOR_USERNAME: FLEET_AUTHOR.username,
    AUTHOR_PASSWORD: FLEET_AUTHOR.password,
    // These tests are about coherence, not fail-fast: a loaded machine must not turn a slow
    // reply into a miss (redis-faults.test.ts proves the 250 ms default).
    CACHE_REDIS_TIMEOUT_MS: '2000',
    ...cacheEnv,
  };
  const nodes: ServerProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    nodes.push(await startServerProcess({ env }));
    nodes.push(...(await Promise.all(Array.from({ length: count - 1 }, () => startServerProcess({ env })))));
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}

/** A response read in full. */
export interface Page {
  status: number;
  xCache: string | null;
  text: string;
}

/** GETs a page as an anonymous reader (no cookie). */
export async function readPage(url: string): Promise<Page> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, xCache: res.headers.get('x-cache'), text: await res.text() };
}

function cookiesOf(res: Response): string[] {
  return res.headers.getSetCookie().map((line) => line.split(';')[0]);
}

function field(html: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(html);
  if (!match) throw new Error(`no ${what} in the page`);
  return match[1];
}

/** The author, logged in through the real form on one server. */
export class FleetAuthor {
  private constructor(
    private readonly base: string,
    private readonly cookie: string,
  ) {}

  /** Logs in on the server at `base` (GET /login, POST /login → 303). */
  static async login(base: string): Promise<FleetAuthor> {
    const form = await fetch(`${base}/login`);
    const csrf = field(await form.text(), /name="_csrf" value="([^"]*)"/, 'login _csrf');
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookiesOf(form).join('; '), Origin: base },
      body: new URLSearchParams({ _csrf: csrf, ...FLEET_AUTHOR }).toString(),
    });
    if (res.status !== 303) throw new Error(`login answered ${res.status}`);
    return new FleetAuthor(base, cookiesOf(res).join('; '));
  }

  /**
   * Saves a new title and body for post `id` through the editor (GET the form for its version
   * and token, POST it) and resolves at the moment the 303 arrives.
   */
  async edit(id: number, title: string, body: string): Promise<void> {
    const form = await fetch(`${this.base}/admin/posts/${id}/edit`, { headers: { Cookie: this.cookie } });
    const html = await form.text();
    if (form.status !== 200) throw new Error(`editor answered ${form.status}`);
    const fields = new URLSearchParams({
      _csrf: field(html, /name="_csrf" value="([^"]*)"/, 'editor _csrf'),
      version: field(html, /name="version" value="([^"]*)"/, 'version'),
      title,
      category: field(html, /id="category" name="category"[^>]* value="([^"]*)"/, 'category'),
      body,
      published: 'on',
    });
    const res = await fetch(`${this.base}/admin/posts/${id}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: this.cookie, Origin: this.base },
      body: fields.toString(),
    });
    await res.arrayBuffer();
    if (res.status !== 303) throw new Error(`saving post ${id} answered ${res.status}`);
  }
}

/** The newest published post's id, from the JSON API of the server at `base`. */
export async function newestPostId(base: string): Promise<number> {
  const res = await fetch(`${base}/api/v1/posts`);
  const body = (await res.json()) as { posts: { id: number }[] };
  const id = body.posts[0]?.id;
  if (typeof id !== 'number') throw new Error('no published post');
  return id;
}

/** Figures of an invalidation-lag run. */
export interface LagReport {
  edits: number;
  /** Reads after a 303 that still showed the old version (the guarantee says 0). */
  stale: number;
  /** Reads before an edit that were not page-cache hits (should be 0: readers were cached). */
  uncachedBefore: number;
  /** The X-Cache values of those reads, for the failure message. */
  uncachedStatuses: string[];
  /** Worst time from the 303 to a reader receiving the new version, in ms. */
  worstLagMs: number;
  /** Median of those times, in ms. */
  medianLagMs: number;
}

/**
 * The author edits through `writer`; after each 303, anonymous readers on every server in
 * `readers` fetch the post's page and the index at once and must get the new title. Before each
 * edit the readers' pages are checked to be cached (X-Cache: HIT), so the edit has something to
 * invalidate. A stale read is counted and polled until fresh, to measure the lag all the same.
 */
export async function measureInvalidationLag(writer: string, readers: readonly string[], edits: number): Promise<LagReport> {
  const author = await FleetAuthor.login(writer);
  const id = await newestPostId(writer);
  const urls = readers.flatMap((base) => [`${base}/posts/${id}`, `${base}/`]);
  const lags: number[] = [];
  let stale = 0;
  const uncachedStatuses: string[] = [];
  await Promise.all(urls.map((url) => readPage(url)));
  for (let i = 0; i < edits; i++) {
    const before = await Promise.all(urls.map((url) => readPage(url)));
    before.forEach((page, j) => page.xCache !== 'HIT' && uncachedStatuses.push(`edit ${i} ${urls[j]}: ${page.status} ${page.xCache}`));
    const title = `Scale-out edit ${i} ${Math.random().toString(36).slice(2, 8)}`;
    await author.edit(id, title, `Body of edit ${i}.`);
    const acknowledged = performance.now();
    await Promise.all(
      urls.map(async (url) => {
        for (let attempt = 0; ; attempt++) {
          const page = await readPage(url);
          if (page.status === 200 && page.text.includes(title)) break;
          stale += 1;
          if (attempt > 200) throw new Error(`${url} still stale after 200 polls`);
        }
        lags.push(performance.now() - acknowledged);
      }),
    );
  }
  lags.sort((x, y) => x - y);
  return {
    edits,
    stale,
    uncachedBefore: uncachedStatuses.length,
    uncachedStatuses,
    worstLagMs: Math.round(lags[lags.length - 1] * 10) / 10,
    medianLagMs: Math.round(lags[Math.floor(lags.length / 2)] * 10) / 10,
  };
}
