import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfFrom, login, startTestApp, type TestApp } from '../support/app.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-page-cache-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const backends = await pageCacheBackends({ scratch: cacheDir });

/** Every public page that can show post `id` in category `category`. */
function pagesShowing(id: number, category: string): string[] {
  return [
    '/',
    '/?page=2',
    `/posts/${id}`,
    `/category/${category}`,
    '/about',
    '/feed.xml',
    '/api/v1/posts',
    `/api/v1/posts?category=${category}`,
    `/api/v1/posts/${id}`,
  ];
}

describe.each(backends)('the blog cached on $name', (backend) => {
  let t: TestApp;
  let author: supertest.Agent;
  let csrf: string;

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: backend.env() });
    // 12 posts: two index pages; the oldest is on page 2.
    for (let i = 0; i < 12; i++) await t.addPost({ title: `Old post ${i}`, category: i % 2 ? 'koa' : 'cache' }, 12 - i);
    author = t.request();
    csrf = await login(author);
  });
  afterAll(async () => {
    if (!backend.skip) await t.close();
  });

  /** An anonymous GET with no cookies. */
  const read = (path: string) => t.request().get(path);

  /** Warms `paths` and checks the second read of each is a HIT. */
  async function warm(paths: string[]): Promise<void> {
    for (const path of paths) {
      await read(path);
      const res = await read(path);
      expect([res.status, res.headers['x-cache']], path).toEqual([res.status === 404 ? 404 : 200, res.status === 404 ? 'MISS' : 'HIT']);
    }
  }

  /** Posts the editor form for a new post; resolves the new post's id. */
  async function create(fields: Record<string, string>): Promise<number> {
    const res = await author
      .post('/admin/posts')
      .type('form')
      .send({ _csrf: csrf, body: 'Body', published: 'on', ...fields })
      .expect(303);
    return Number(String(res.headers.location).split('/').pop());
  }

  async function edit(id: number, fields: Record<string, string>): Promise<void> {
    const form = await author.get(`/admin/posts/${id}/edit`).expect(200);
    const version = /name="version" value="(\d+)"/.exec(form.text)?.[1];
    const current = await t.posts.get(id, { includeDrafts: true });
    await author
      .post(`/admin/posts/${id}`)
      .type('form')
      .send({
        _csrf: csrfFrom(form.text),
        version,
        title: current?.title,
        body: current?.body,
        category: current?.category,
        published: current?.published ? 'on' : '',
        ...fields,
      })
      .expect(303);
  }

  it.skipIf(backend.skip)('serves anonymous readers MISS then HIT, with an ETag and 304', async () => {
    const first = await read('/about').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await read('/about').expect(200);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(second.headers.etag).toBeTruthy();
    await read('/about').set('If-None-Match', String(second.headers.etag)).expect(304);
  });

  it.skipIf(backend.skip)('keeps each index page and JSON query apart, in canonical order', async () => {
    await warm(['/', '/?page=2', '/api/v1/posts?category=koa&page=1']);
    const reordered = await read('/api/v1/posts?page=1&category=koa').expect(200);
    expect(reordered.headers['x-cache']).toBe('HIT');
    const pageOne = await read('/').expect(200);
    const pageTwo = await read('/?page=2').expect(200);
    expect(pageOne.text).not.toBe(pageTwo.text);
  });

  it.skipIf(backend.skip)('bypasses the cache for the author and never shows reader pages author markup', async () => {
    const res = await author.get('/').expect(200);
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect(res.text).toContain('action="/logout"');
    for (const path of pagesShowing(1, 'koa')) await author.get(path);
    for (const path of pagesShowing(1, 'koa')) {
      const page = await read(path);
      expect(page.text, path).not.toContain('action="/logout"');
      expect(page.text, path).not.toContain('_csrf');
      expect(page.headers['set-cookie'], path).toBeUndefined();
    }
  });

  it.skipIf(backend.skip)('shows a new post on every page that lists it, at once', async () => {
    await warm(pagesShowing(1, 'koa'));
    const id = await create({ title: 'Fresh arrival', category: 'koa' });
    for (const path of ['/', '/category/koa', '/about', '/feed.xml', '/api/v1/posts', '/api/v1/posts?category=koa']) {
      const res = await read(path).expect(200);
      expect(res.text, path).toContain('Fresh arrival');
    }
    expect((await read(`/posts/${id}`).expect(200)).text).toContain('Fresh arrival');
  });

  it.skipIf(backend.skip)('shows an edit everywhere, including page 2 and the old and new category', async () => {
    const oldest = (await t.posts.listPublished({ page: 2 })).posts.at(-1);
    if (!oldest) throw new Error('no post on page 2');
    const from = oldest.category;
    const to = from === 'koa' ? 'cache' : 'koa';
    await warm([...pagesShowing(oldest.id, from), `/category/${to}`]);
    await edit(oldest.id, { title: 'Renamed and moved', body: 'A **new** body', category: to });
    const page2 = await read('/?page=2').expect(200);
    expect(page2.text).toContain('Renamed and moved');
    expect((await read(`/category/${to}`).expect(200)).text).toContain('Renamed and moved');
    expect((await read(`/category/${from}`)).text).not.toContain('Renamed and moved');
    const post = await read(`/posts/${oldest.id}`).expect(200);
    expect(post.text).toContain('<strong>new</strong>');
    const json = await read(`/api/v1/posts/${oldest.id}`).expect(200);
    expect(json.body.html).toContain('<strong>new</strong>');
  });

  it.skipIf(backend.skip)('hides an unpublished post everywhere and shows it again when republished', async () => {
    const id = await create({ title: 'Now you see me', category: 'cache' });
    await warm(pagesShowing(id, 'cache'));
    await edit(id, { published: '' });
    for (const path of pagesShowing(id, 'cache')) {
      const res = await read(path);
      expect(res.text, path).not.toContain('Now you see me');
    }
    await read(`/posts/${id}`).expect(404);
    await edit(id, { published: 'on' });
    expect((await read('/').expect(200)).text).toContain('Now you see me');
    expect((await read(`/posts/${id}`).expect(200)).text).toContain('Now you see me');
  });

  it.skipIf(backend.skip)('removes a deleted post from every page', async () => {
    const id = await create({ title: 'Short-lived', category: 'koa' });
    await warm(pagesShowing(id, 'koa'));
    await author.post(`/admin/posts/${id}/delete`).type('form').send({ _csrf: csrf, confirm: 'yes' }).expect(303);
    for (const path of pagesShowing(id, 'koa')) {
      expect((await read(path)).text, path).not.toContain('Short-lived');
    }
    await read(`/posts/${id}`).expect(404);
    await read(`/api/v1/posts/${id}`).expect(404);
  });

  it.skipIf(backend.skip)('shows a post written through PostService itself, not a route, on every page at once', async () => {
    await warm(pagesShowing(1, 'cache'));
    const post = await t.posts.create({ title: 'Written by a script', body: 'Body', category: 'cache', published: true });
    for (const path of ['/', '/category/cache', '/about', '/feed.xml', '/api/v1/posts']) {
      expect((await read(path).expect(200)).text, path).toContain('Written by a script');
    }
    await warm([`/posts/${post.id}`]);
    await t.posts.update(post.id, { title: 'Rewritten by a script', body: 'Body', category: 'cache', published: true });
    expect((await read(`/posts/${post.id}`).expect(200)).text).toContain('Rewritten by a script');
    await t.posts.remove(post.id);
    await read(`/posts/${post.id}`).expect(404);
    expect((await read('/').expect(200)).text).not.toContain('Rewritten by a script');
  });

  it.skipIf(backend.skip)('keeps pages that only embed the sidebar cached when an edit cannot change the sidebar', async () => {
    const id = await create({ title: 'Sidebar candidate', category: 'koa' });
    await warm(['/about', `/posts/${id}`]);
    await edit(id, { body: 'Only the **body** changed' });
    expect((await read('/about').expect(200)).headers['x-cache']).toBe('HIT');
    expect((await read(`/posts/${id}`).expect(200)).text).toContain('<strong>body</strong>');
    await edit(id, { title: 'Sidebar candidate renamed' });
    const about = await read('/about').expect(200);
    expect(about.headers['x-cache']).toBe('MISS');
    expect(about.text).toContain('Sidebar candidate renamed');
  });

  it.skipIf(backend.skip)('gives 20 parallel readers the new version right after each acknowledged edit', async () => {
    const id = await create({ title: 'Version 0', category: 'koa' });
    for (let v = 1; v <= 5; v++) {
      await Promise.all(Array.from({ length: 5 }, () => read(`/posts/${id}`)));
      await edit(id, { title: `Version ${v}` });
      const pages = await Promise.all(Array.from({ length: 20 }, () => read(`/posts/${id}`)));
      expect(pages.filter((res) => !res.text.includes(`Version ${v}`))).toHaveLength(0);
    }
  });
});

describe('the sidebar', () => {
  it('is cached once, as memoized data inside the cached pages, never as a fragment of its own', async () => {
    const t = await startTestApp({ env: { CACHE_TYPE: 'memory' }, demo: true });
    try {
      const cache = t.app.context.services.caching.cache;
      for (const path of ['/', '/about', '/category/koa']) await t.request().get(path).expect(200);
      const { origins } = await cache.stats();
      expect(origins.fragment.sets + origins.fragment.hits + origins.fragment.misses).toBe(0);
      expect(origins.memoize.hits).toBeGreaterThanOrEqual(2);
    } finally {
      await t.close();
    }
  });
});

describe('POST /api/v1/preview', () => {
  let t: TestApp;
  let author: supertest.Agent;
  let csrf: string;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
    author = t.request();
    csrf = await login(author);
  });
  afterAll(() => t.close());

  const preview = (body: unknown) =>
    author.post('/api/v1/preview').set('X-CSRF-Token', csrf).set('Origin', 'http://kiln.test').type('json').send(body as object);

  it('renders sanitized HTML, cached by the Markdown, and bypasses on request', async () => {
    const first = await preview({ markdown: '**hi** <script>x()</script>' }).expect(200);
    expect(first.body.html).toBe('<p><strong>hi</strong> </p>\n');
    expect(first.headers['x-cache']).toBe('MISS');
    expect((await preview({ markdown: '**hi** <script>x()</script>' }).expect(200)).headers['x-cache']).toBe('HIT');
    expect((await preview({ markdown: 'other' }).expect(200)).headers['x-cache']).toBe('MISS');
    const bypass = await preview({ markdown: '**hi** <script>x()</script>', bypass: true }).expect(200);
    expect(bypass.headers['x-cache']).toBe('BYPASS');
  });

  it('answers bad bodies with JSON 400 and 413, and caches none of them', async () => {
    const setsBefore = (await t.app.context.services.caching.cache.stats()).origins.direct.sets;
    for (const body of [{ markdown: 5 }, { markdown: 'x', bypass: 'yes' }, [], { nothing: true }]) {
      const res = await preview(body).expect(400);
      expect(res.body.error.status).toBe(400);
    }
    await author
      .post('/api/v1/preview')
      .set('X-CSRF-Token', csrf)
      .set('Origin', 'http://kiln.test')
      .type('json')
      .send('{"markdown": ')
      .expect(400);
    await preview({ markdown: 'x'.repeat(100_001) }).expect(413);
    expect((await t.app.context.services.caching.cache.stats()).origins.direct.sets).toBe(setsBefore);
  });

  it('refuses a request without the CSRF token', async () => {
    await t.request().post('/api/v1/preview').type('json').send({ markdown: 'x' }).expect(403);
  });
});
