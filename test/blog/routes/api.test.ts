import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  for (let i = 14; i >= 1; i--) {
    await t.addPost({ title: `Api post ${i}`, category: i <= 3 ? 'koa' : 'general', body: `# Heading ${i}\n\nSome *text* <script>alert(1)</script>` }, i);
  }
  await t.addPost({ title: 'Draft', category: 'secret', published: false });
});
afterAll(() => t.close());

describe('GET /api/v1/posts', () => {
  it('returns 10 posts a page, newest first, with the contract fields only', async () => {
    const res = await t.request().get('/api/v1/posts').expect(200).expect('Content-Type', /application\/json/);
    expect(res.body.page).toBe(1);
    expect(res.body.pages).toBe(2);
    expect(res.body.posts).toHaveLength(10);
    expect(res.body.posts.map((p: { title: string }) => p.title)).toEqual(Array.from({ length: 10 }, (_, i) => `Api post ${i + 1}`));
    const [first] = res.body.posts;
    expect(Object.keys(first).sort()).toEqual(['category', 'createdAt', 'excerpt', 'id', 'slug', 'title']);
    expect(first).toMatchObject({ slug: 'api-post-1', category: 'koa', excerpt: 'Some text' });
    expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);
  });

  it('pages with ?page= and filters with ?category=', async () => {
    const second = await t.request().get('/api/v1/posts?page=2').expect(200);
    expect(second.body).toMatchObject({ page: 2, pages: 2 });
    expect(second.body.posts).toHaveLength(4);
    const koa = await t.request().get('/api/v1/posts?category=koa').expect(200);
    expect(koa.body.posts.map((p: { title: string }) => p.title)).toEqual(['Api post 1', 'Api post 2', 'Api post 3']);
    expect(koa.body).toMatchObject({ page: 1, pages: 1 });
    const all = await t.request().get('/api/v1/posts?category=&page=1').expect(200);
    expect(all.body.posts).toHaveLength(10);
  });

  it('answers JSON 404s for a page past the end, bad pages and unknown categories', async () => {
    for (const query of ['page=3', 'page=zero', 'category=nope', 'category=secret', 'category=BAD!', 'category=koa&page=2']) {
      const res = await t.request().get(`/api/v1/posts?${query}`).expect(404).expect('Content-Type', /application\/json/);
      expect(res.body).toEqual({ error: { status: 404, message: expect.any(String) } });
    }
  });
});

describe('GET /api/v1/posts/:id', () => {
  it('returns the post with its sanitized html', async () => {
    const list = await t.request().get('/api/v1/posts').expect(200);
    const id = list.body.posts[0].id;
    const res = await t.request().get(`/api/v1/posts/${id}`).expect(200);
    expect(res.body).toMatchObject({ id, title: 'Api post 1', slug: 'api-post-1', category: 'koa' });
    expect(res.body.html).toContain('<h2>Heading 1</h2>');
    expect(res.body.html).toContain('<em>text</em>');
    expect(res.body.html).not.toContain('<script');
  });

  it('answers JSON 404 for unknown, non-numeric and draft ids', async () => {
    const draft = (await t.posts.listAll()).find((p) => !p.published);
    for (const id of ['999999', 'abc', '0', String(draft?.id)]) {
      const res = await t.request().get(`/api/v1/posts/${id}`).expect(404);
      expect(res.body.error.status).toBe(404);
    }
  });

  it('answers unknown API paths with a JSON 404', async () => {
    const res = await t.request().get('/api/v2/whatever').expect(404).expect('Content-Type', /application\/json/);
    expect(res.body).toEqual({ error: { status: 404, message: 'There is nothing here.' } });
  });
});
