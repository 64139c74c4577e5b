import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_FORBIDDEN } from '../reliability/blog.ts';
import { AUTHOR, csrfFrom } from '../support/app.ts';
import { freePort } from '../support/children.ts';
import { cookiesOf, sendOnce, type Reply } from '../support/http-once.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { requireVarnish } from '../support/services.ts';
import { startVarnish, type VarnishProcess } from '../support/varnish.ts';

/**
 * Kiln behind a real Varnish (deploy/varnish/run.sh with kiln.vcl): a real src/server.ts on
 * SQLite with the memory cache, purging Varnish through HTTP_CACHE_PURGE_URLS. The author signs
 * in and saves through Varnish; readers read through it right after each save.
 */

const varnishUp = await requireVarnish();

const EDITS = 30;
/** Edits made while Varnish is stopped: the author saves on Kiln directly meanwhile. */
const VARNISH_DOWN = { from: 11, to: 15 };

let dir: string;
let kiln: ServerProcess;
let varnish: VarnishProcess;

beforeAll(async () => {
  if (!varnishUp) return;
  dir = mkdtempSync(join(tmpdir(), 'kiln-varnish-e2e-'));
  const varnishPort = await freePort();
  kiln = await startServerProcess({
    env: {
      NODE_ENV: 'test',
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`,
      AUTHOR_USERNAME: AUTHOR.username,
      AUTHOR_PASSWORD: AUTHOR.password,
      SEED_DEMO: '1',
      CACHE_TYPE: 'memory',
      KILN_TOOLBAR: '0',
      HTTP_CACHE_PURGE_URLS: `http://127.0.0.1:${varnishPort}/`,
    },
  });
  varnish = await startVarnish({ backendPort: kiln.port, port: varnishPort });
}, 60_000);

afterAll(async () => {
  if (!varnishUp) return;
  await varnish?.stop();
  await kiln?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The request ids in `X-Varnish`: two on a hit (this request's and the object's), one otherwise. */
function varnishIds(reply: Reply): number {
  return String(reply.headers['x-varnish'] ?? '').split(/\s+/).filter(Boolean).length;
}

/** The author's session cookie, signed in through the login form at `base`. */
async function signIn(base: string): Promise<string> {
  const form = await sendOnce(base, '/login');
  expect(form.status).toBe(200);
  const res = await sendOnce(base, '/login', { cookie: cookiesOf(form), form: { _csrf: csrfFrom(form.text), ...AUTHOR } });
  expect(res.status).toBe(303);
  const cookie = cookiesOf(res)
    .split('; ')
    .find((pair) => pair.startsWith('kiln.sid='));
  if (cookie === undefined) throw new Error('no session cookie after signing in');
  return cookie;
}

/** Saves the post with a new title through the editor at `base`: the editor page, then its POST. */
async function save(base: string, cookie: string, id: number, title: string): Promise<{ editor: Reply; saved: Reply }> {
  const editor = await sendOnce(base, `/admin/posts/${id}/edit`, { cookie });
  expect(editor.status).toBe(200);
  const version = /name="version" value="(\d+)"/.exec(editor.text)?.[1] ?? '';
  const saved = await sendOnce(base, `/admin/posts/${id}`, {
    cookie,
    form: { _csrf: csrfFrom(editor.text), version, title, body: `The body of ${title}.`, category: 'varnish', published: 'on' },
  });
  return { editor, saved };
}

/** A metric's value in /metrics text, 0 when absent. */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe.skipIf(!varnishUp)('Kiln behind Varnish', () => {
  it('serves readers from Varnish and every save at once, never the author, through a Varnish restart', async () => {
    const cookie = await signIn(varnish.url);
    const admin = await sendOnce(varnish.url, '/admin', { cookie });
    expect(admin.status).toBe(200);
    const created = await sendOnce(varnish.url, '/admin/posts', {
      cookie,
      form: { _csrf: csrfFrom(admin.text), title: 'Varnish edit 0', body: 'The first body.', category: 'varnish', published: 'on' },
    });
    expect(created.status).toBe(303);
    const id = Number(/^\/posts\/(\d+)$/.exec(String(created.headers.location))?.[1]);
    const pages = [`/posts/${id}`, '/', '/category/varnish', '/feed.xml', '/api/v1/posts', `/api/v1/posts/${id}`, '/about'];

    const problems: string[] = [];
    /** A reader's read through Varnish: never a cookie, never the author's markup, always 200. */
    const read = async (path: string): Promise<Reply> => {
      const reply = await sendOnce(varnish.url, path);
      if (reply.status !== 200) problems.push(`${path}: status ${reply.status}`);
      if (reply.headers['set-cookie'] !== undefined) problems.push(`${path}: Set-Cookie to a reader`);
      for (const text of READER_FORBIDDEN) if (reply.text.includes(text)) problems.push(`${path}: reader got ${text}`);
      return reply;
    };

    // Warm: the second read of every page is a Varnish hit, with Kiln's shared-cache headers. The
    // repeat of the last purge (a second after it) may fall between the two reads: then once more.
    for (const path of pages) {
      let hit: Reply | undefined;
      for (let attempt = 0; attempt < 3 && (hit === undefined || varnishIds(hit) !== 2); attempt++) {
        await read(path);
        hit = await read(path);
      }
      expect([path, hit && varnishIds(hit)]).toEqual([path, 2]);
      expect(hit?.headers['cache-control']).toMatch(/^public, max-age=0, s-maxage=\d+$/);
      expect(hit?.headers.xkey).toBeUndefined();
      expect(hit?.headers['x-varnish-cache']).toBe('HIT');
    }

    const stale: string[] = [];
    let hits = 0;
    let readsAfterSaves = 0;
    const started = Date.now();
    for (let edit = 1; edit <= EDITS; edit++) {
      if (edit === VARNISH_DOWN.from) await varnish.stop();
      if (edit === VARNISH_DOWN.to + 1) await varnish.start();
      const down = edit >= VARNISH_DOWN.from && edit <= VARNISH_DOWN.to;
      const title = `Varnish edit ${edit}`;
      const { editor, saved } = await save(down ? kiln.url : varnish.url, cookie, id, title);
      expect([edit, saved.status]).toEqual([edit, 303]);
      if (down) continue;
      // The author's pages pass through Varnish untouched.
      expect([editor.headers['cache-control'], varnishIds(editor), varnishIds(saved)]).toEqual(['private, no-store', 1, 1]);
      for (const path of pages) {
        const first = await read(path);
        const again = await read(path);
        readsAfterSaves += 2;
        for (const reply of [first, again]) if (!reply.text.includes(title)) stale.push(`${path} after edit ${edit}: X-Varnish ${reply.headers['x-varnish']}`);
        if (varnishIds(again) === 2) hits += 1;
      }
    }
    expect(stale).toEqual([]);
    expect(problems).toEqual([]);
    expect(readsAfterSaves).toBe((EDITS - (VARNISH_DOWN.to - VARNISH_DOWN.from + 1)) * pages.length * 2);
    // Each purge's repeat, a second later, may fall between a page's two reads and turn the
    // second into a miss: at most one per second of the loop.
    const repeats = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(hits).toBeGreaterThanOrEqual(readsAfterSaves / 2 - repeats);

    // The author's own pages are never answered from Varnish, even read twice.
    for (const path of ['/', `/posts/${id}`, '/about']) {
      for (let i = 0; i < 2; i++) {
        const own = await sendOnce(varnish.url, path, { cookie });
        expect([path, own.status, varnishIds(own), own.headers['cache-control']]).toEqual([path, 200, 1, 'private, no-store']);
        expect(own.text).toContain('action="/logout"');
      }
      const reader = await read(path);
      expect(reader.text).not.toContain('action="/logout"');
    }
    expect(problems).toEqual([]);

    // No save was lost: 30 edits on top of version 1, the last one shown.
    const editor = await sendOnce(kiln.url, `/admin/posts/${id}/edit`, { cookie });
    expect(/name="version" value="(\d+)"/.exec(editor.text)?.[1]).toBe(String(EDITS + 1));
    expect((await read(`/posts/${id}`)).text).toContain(`Varnish edit ${EDITS}`);

    // The purges that could not reach the stopped Varnish were counted; /metrics is Kiln's own, not Varnish's to share.
    const metrics = (await sendOnce(kiln.url, '/metrics')).text;
    const series = (result: string) => `kiln_http_cache_purges_total{target="${varnish.url}/",result="${result}"}`;
    expect(metric(metrics, series('failed'))).toBeGreaterThanOrEqual(VARNISH_DOWN.to - VARNISH_DOWN.from + 1);
    expect(metric(metrics, series('sent'))).toBeGreaterThanOrEqual(EDITS - (VARNISH_DOWN.to - VARNISH_DOWN.from + 1));
    expect((await sendOnce(varnish.url, '/metrics')).status).toBe(404);
  }, 60_000);
});
