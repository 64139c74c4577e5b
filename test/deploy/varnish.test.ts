import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOnce, type Reply } from '../support/http-once.ts';
import { requireVarnish } from '../support/services.ts';
import { startVarnish, VARNISH_RUN_SH, type VarnishProcess } from '../support/varnish.ts';

/**
 * deploy/varnish/kiln.vcl in a real varnishd (through run.sh), in front of a stand-in backend
 * that answers like Kiln (public, tagged pages; private and cookie responses) and records every
 * request that reached it.
 */

const varnishUp = await requireVarnish();

interface Seen {
  method: string;
  url: string;
  cookie: string | undefined;
  acceptEncoding: string | undefined;
}

/** Answers like Kiln: path prefixes choose the headers; every request is recorded. */
class Backend {
  readonly seen: Seen[] = [];
  private server: Server | undefined;

  async listen(): Promise<number> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', cookie: req.headers.cookie, acceptEncoding: req.headers['accept-encoding'] });
      const path = (req.url ?? '/').split('?')[0];
      const shared = (tags: string) => {
        res.setHeader('Cache-Control', 'public, max-age=0, s-maxage=600');
        res.setHeader('xkey', tags);
        res.setHeader('Surrogate-Key', tags);
      };
      if (path === '/' || path.startsWith('/category/') || path === '/api/v1/posts') shared('lists sidebar');
      else if (path.startsWith('/posts/')) shared(`post-pages post:${path.slice('/posts/'.length)}`);
      else if (path === '/vary') {
        shared('vary');
        res.setHeader('Vary', 'Accept-Encoding');
      } else if (path === '/cookie') {
        shared('cookie');
        res.setHeader('Set-Cookie', 'kiln.login=nonce; Path=/login');
      } else if (path === '/private') res.setHeader('Cache-Control', 'private, no-store');
      else if (path === '/public-no-store') res.setHeader('Cache-Control', 'public, s-maxage=600, no-store');
      res.setHeader('Content-Type', 'text/plain');
      res.end(`${req.method} ${req.url} #${this.seen.length}`);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    return (this.server?.address() as AddressInfo).port;
  }

  /** The requests that reached the backend for `url`. */
  reached(url: string): Seen[] {
    return this.seen.filter((s) => s.url === url);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const backend = new Backend();
let backendPort: number;
let varnish: VarnishProcess;

beforeAll(async () => {
  if (!varnishUp) return;
  backendPort = await backend.listen();
  varnish = await startVarnish({ backendPort });
}, 60_000);
afterAll(async () => {
  await varnish?.stop();
  await backend.close();
});

const get = (path: string, headers: Record<string, string> = {}) => sendOnce(varnish.url, path, { headers });
const isHit = (reply: Reply) => String(reply.headers['x-varnish']).split(' ').length === 2;
const purge = (tags: string | undefined) => sendOnce(varnish.url, '/', { method: 'PURGE', headers: tags === undefined ? {} : { 'xkey-purge': tags } });

describe.skipIf(!varnishUp)('kiln.vcl', () => {
  it('keeps a page Kiln marked public and answers the next reader from it, without its tags', async () => {
    const first = await get('/posts/1');
    const second = await get('/posts/1');
    expect([isHit(first), isHit(second), second.headers['x-varnish-cache']]).toEqual([false, true, 'HIT']);
    expect(second.text).toBe(first.text);
    expect([second.headers.xkey, second.headers['surrogate-key']]).toEqual([undefined, undefined]);
    expect(backend.reached('/posts/1')).toHaveLength(1);
  });

  it('keeps only the query parameters the page reads, sorted, so equal pages share one object', async () => {
    await get('/?utm_source=news&page=2');
    expect(isHit(await get('/?page=2&fbclid=x'))).toBe(true);
    await get('/?utm_source=x');
    await get('/api/v1/posts?page=2&ref=a&category=news');
    expect(isHit(await get('/api/v1/posts?category=news&page=2'))).toBe(true);
    await get('/category/news?page=3&utm_medium=x');
    await get('/?page');
    expect(backend.seen.map((s) => s.url)).toEqual(expect.arrayContaining(['/?page=2', '/', '/api/v1/posts?category=news&page=2', '/category/news?page=3', '/?page=']));
    expect(backend.reached('/?page=2')).toHaveLength(1);
    expect(backend.reached('/api/v1/posts?category=news&page=2')).toHaveLength(1);
    expect(backend.seen.some((s) => /utm|fbclid|ref=/.test(s.url))).toBe(false);
  });

  it('passes a query Kiln would read differently, and any query on other pages', async () => {
    for (const url of ['/?page=1&page=2', '/?%70age=2', '/api/v1/posts?category=a&category=b', '/posts/1?x=1', '/about?x=1']) {
      const replies = [await get(url), await get(url)];
      expect([url, ...replies.map((r) => r.headers['x-varnish-cache'])]).toEqual([url, 'PASS', 'PASS']);
      expect([url, backend.reached(url).length]).toEqual([url, 2]);
    }
  });

  it('drops the cookies of reader requests, and passes every request carrying the session cookie, cookies intact', async () => {
    await get('/category/cookies', { Cookie: 'theme=dark; _ga=1' });
    expect(isHit(await get('/category/cookies', { Cookie: 'other=2' }))).toBe(true);
    expect(backend.reached('/category/cookies').map((s) => s.cookie)).toEqual([undefined]);

    const author = { Cookie: 'theme=dark; kiln.sid=abc.def' };
    const own = [await get('/category/cookies', author), await get('/category/cookies', author)];
    expect(own.map((r) => [isHit(r), r.headers['x-varnish-cache']])).toEqual([
      [false, 'PASS'],
      [false, 'PASS'],
    ]);
    expect(backend.reached('/category/cookies').map((s) => s.cookie)).toEqual([undefined, author.Cookie, author.Cookie]);
  });

  it('passes every method but GET and HEAD with its cookies, and never stores its answer', async () => {
    const form = { _csrf: 'x' };
    const posted = await sendOnce(varnish.url, '/posts/7', { form, cookie: 'kiln.login=nonce' });
    expect(posted.headers['x-varnish-cache']).toBe('PASS');
    expect(backend.reached('/posts/7')).toEqual([expect.objectContaining({ method: 'POST', cookie: 'kiln.login=nonce' })]);
    await get('/posts/7');
    expect(isHit(await get('/posts/7'))).toBe(true);
  });

  it('never stores a response with Set-Cookie, private or no-store, or without a shared-cache directive', async () => {
    for (const url of ['/cookie', '/private', '/public-no-store', '/plain']) {
      const replies = [await get(url), await get(url)];
      expect([url, ...replies.map(isHit)]).toEqual([url, false, false]);
      expect([url, backend.reached(url).length]).toEqual([url, 2]);
    }
    expect((await get('/cookie')).headers['set-cookie']).toEqual(['kiln.login=nonce; Path=/login']);
  });

  it('passes /metrics, /healthz and the toolbar whoever asks', async () => {
    for (const url of ['/metrics', '/healthz', '/_toolbar/abc']) {
      await get(url);
      expect([url, (await get(url)).headers['x-varnish-cache']]).toEqual([url, 'PASS']);
    }
  });

  it('keeps one object of a page varying on Accept-Encoding for every spelling of it', async () => {
    const spellings = ['gzip, deflate', 'deflate,gzip;q=1.0', 'gzip, deflate, br', 'br', 'deflate', ''];
    const replies: Reply[] = [];
    for (const value of spellings) replies.push(await get('/vary', value === '' ? {} : { 'Accept-Encoding': value }));
    expect(replies.map(isHit)).toEqual([false, true, true, true, true, true]);
    expect(backend.reached('/vary')).toHaveLength(1);
  });

  it('purges the objects carrying any of the tags of an xkey-purge, and only those, with their count', async () => {
    for (const url of ['/posts/21', '/posts/22', '/category/purge']) {
      await get(url);
      expect([url, isHit(await get(url))]).toEqual([url, true]);
    }
    const purged = await purge('post:21 lists');
    expect([purged.status, purged.headers['xkey-purged']]).toEqual([200, expect.any(String)]);
    expect(Number(purged.headers['xkey-purged'])).toBeGreaterThanOrEqual(2);
    expect([isHit(await get('/posts/21')), isHit(await get('/category/purge')), isHit(await get('/posts/22'))]).toEqual([false, false, true]);
  });

  it('purges everything with the tag `all`, and refuses a PURGE without tags', async () => {
    await get('/posts/31');
    await get('/vary');
    expect((await purge('all')).status).toBe(200);
    expect([isHit(await get('/posts/31')), isHit(await get('/vary'))]).toEqual([false, false]);
    expect((await purge(undefined)).status).toBe(400);
  });
});

describe.skipIf(!varnishUp)('kiln.vcl PURGE_ALLOW', () => {
  it('refuses a PURGE from an address not in PURGE_ALLOW', async () => {
    const guarded = await startVarnish({ backendPort, purgeAllow: '10.9.8.7, 192.0.2.0/24' });
    try {
      const refused = await sendOnce(guarded.url, '/', { method: 'PURGE', headers: { 'xkey-purge': 'all' } });
      expect(refused.status).toBe(403);
    } finally {
      await guarded.stop();
    }
  }, 60_000);
});

describe('deploy/varnish/run.sh', () => {
  const run = (env: Record<string, string>) => spawnSync(VARNISH_RUN_SH, [], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });

  it.each([
    [{ KILN_BACKEND: 'kiln' }, 'KILN_BACKEND'],
    [{ KILN_BACKEND: '127.0.0.1:3000"; }' }, 'KILN_BACKEND'],
    [{ VARNISH_PORT: '70000' }, 'VARNISH_PORT'],
    [{ PURGE_ALLOW: '127.0.0.1; evil' }, 'PURGE_ALLOW'],
  ])('refuses %o, naming the variable, before starting anything', (env, variable) => {
    const result = run(env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(variable);
  });

  it('says how to install Varnish when varnishd is missing', () => {
    // bash and coreutils live in /usr/bin, varnishd in /usr/sbin.
    const result = run({ PATH: '/usr/bin:/bin' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/varnishd was not found.*apt-get install varnish varnish-modules/);
  });
});
