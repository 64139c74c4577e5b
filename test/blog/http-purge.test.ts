import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/children.ts';
import { csrfFrom, login, startTestApp, type TestApp } from '../support/app.ts';

/**
 * Every invalidation the blog makes is also sent as an xkey purge to HTTP_CACHE_PURGE_URLS,
 * after Kiln's own cache is invalidated and before the author's response: a stand-in for
 * Varnish records each purge and, while handling it, reads the page from Kiln the way Varnish
 * would refill it.
 */

interface Received {
  tags: string;
  /** The post page as Kiln served it while the purge was being handled. */
  page: string;
}

class RecordingCache {
  readonly received: Received[] = [];
  pagePath = '/';
  kiln = '';
  private server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      // In sorted order: which tags a purge names matters here, not the order it lists them in.
      const tags = String(req.headers['xkey-purge'] ?? '').split(' ').sort().join(' ');
      get(`${this.kiln}${this.pagePath}`, { agent: false }, (page) => {
        let text = '';
        page.setEncoding('utf8');
        page.on('data', (chunk: string) => (text += chunk));
        page.on('end', () => {
          this.received.push({ tags, page: text });
          res.setHeader('xkey-purged', '1');
          res.end();
        });
      }).on('error', () => {
        // Kiln gone (a purge's repeat after the suite closed it): the purge fails, as Varnish's would.
        res.statusCode = 502;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const cache = new RecordingCache();
let t: TestApp;

beforeAll(async () => {
  const url = await cache.listen();
  t = await startTestApp({ env: { CACHE_TYPE: 'memory', HTTP_CACHE_PURGE_URLS: url } });
  const address = t.server.address() as AddressInfo;
  cache.kiln = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await t.close();
  await cache.close();
});

/** The purges received while `action` ran (a purge's repeat a second later may land in another action too). */
async function purgesDuring(action: () => Promise<unknown>): Promise<Received[]> {
  const before = cache.received.length;
  await action();
  return cache.received.slice(before);
}

describe('HTTP cache purges', () => {
  it('are sent for login, create, edit, delete and logout before the response, after Kiln invalidated its own cache', async () => {
    const author = t.request();
    const onLogin = await purgesDuring(() => login(author));
    expect(onLogin.map((p) => p.tags)).toContain('lists post-pages');

    const sidebar = await t.addPost({ title: 'Older post' }, 3);
    await t.request().get('/').expect(200);
    const form = await author.get('/admin/posts/new').expect(200);
    let id = 0;
    const onCreate = await purgesDuring(async () => {
      const res = await author.post('/admin/posts').type('form').send({ _csrf: csrfFrom(form.text), title: 'Fresh post', body: 'Body', category: 'news', published: 'on' }).expect(303);
      id = Number(/\/posts\/(\d+)/.exec(res.headers.location)?.[1]);
    });
    // A new post has no page of its own cached yet (a 404 is never stored): the listings and the sidebar.
    expect(onCreate.map((p) => p.tags)).toContain('lists sidebar');
    expect(onCreate.find((p) => p.tags.startsWith('lists'))?.page).toContain('Fresh post');

    cache.pagePath = `/posts/${id}`;
    await t.request().get(cache.pagePath).expect(200);
    const editor = await author.get(`/admin/posts/${id}/edit`).expect(200);
    const version = /name="version" value="(\d+)"/.exec(editor.text)?.[1] ?? '';
    const onEdit = await purgesDuring(() =>
      author.post(`/admin/posts/${id}`).type('form').send({ _csrf: csrfFrom(editor.text), version, title: 'Edited post', body: 'New body', category: 'news', published: 'on' }).expect(303),
    );
    const edit = onEdit.find((p) => p.tags === `lists post:${id} sidebar`);
    // Varnish refilling while the purge is handled gets the new page, never the cached old one.
    expect(edit?.page).toContain('Edited post');

    const admin = await author.get('/admin').expect(200);
    const onDelete = await purgesDuring(() => author.post(`/admin/posts/${sidebar.id}/delete`).type('form').send({ _csrf: csrfFrom(admin.text), confirm: 'yes' }).expect(303));
    expect(onDelete.map((p) => p.tags)).toContain(`lists post:${sidebar.id} sidebar`);

    const onLogout = await purgesDuring(() => author.post('/logout').type('form').send({ _csrf: csrfFrom(admin.text) }).expect(303));
    expect(onLogout.map((p) => p.tags)).toContain('lists post-pages');

    const metrics = (await t.request().get('/metrics').expect(200)).text;
    const sent = /kiln_http_cache_purges_total\{target="[^"]+",result="sent"\} (\d+)/.exec(metrics)?.[1];
    expect(Number(sent)).toBeGreaterThanOrEqual(5);
  });
});

describe('HTTP cache purges to a cache that is down', () => {
  let down: TestApp | undefined;
  afterEach(async () => {
    await down?.close();
    down = undefined;
  });

  it('never fail the save, and are counted as failed in /metrics and shown in the toolbar History', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    down = await startTestApp({ env: { CACHE_TYPE: 'memory', HTTP_CACHE_PURGE_URLS: url, KILN_TOOLBAR: '1' } });
    const post = await down.addPost({ title: 'Saved anyway' });
    const author = down.request();
    await login(author);
    const editor = await author.get(`/admin/posts/${post.id}/edit`).expect(200);
    const version = /name="version" value="(\d+)"/.exec(editor.text)?.[1] ?? '';
    const saved = await author
      .post(`/admin/posts/${post.id}`)
      .type('form')
      .send({ _csrf: csrfFrom(editor.text), version, title: 'Saved while the cache is down', body: 'Body', category: 'news', published: 'on' })
      .expect(303);
    expect((await supertest(down.server).get(`/posts/${post.id}`).expect(200)).text).toContain('Saved while the cache is down');

    const metrics = (await down.request().get('/metrics').expect(200)).text;
    // The login's and the save's purges, and maybe their first retries already.
    expect(Number(new RegExp(`kiln_http_cache_purges_total\\{target="${url}",result="failed"\\} (\\d+)`).exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toContain(`kiln_http_cache_purges_total{target="${url}",result="sent"} 0`);

    const id = String(saved.headers['x-kiln-toolbar-id']);
    // The toolbar shows a request only to the browser that made it.
    const record = (await author.get(`/_toolbar/${id}`).expect(200)).body as { request: { cache: { op: string; backend: string; result: string; key: string; detail: string; error?: string }[] } };
    const purge = record.request.cache.find((op) => op.backend === 'http');
    expect(purge).toMatchObject({ op: 'invalidateTags', result: 'error', detail: `PURGE ${url}` });
    expect(purge?.key.split(' ').sort()).toEqual(['lists', `post:${post.id}`, 'sidebar']);
    expect(purge?.error).toMatch(/ECONNREFUSED/);
  });
});
