import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  // 23 published posts: 12 "koa", 11 "caching"; plus one draft. Post n is n days old.
  for (let i = 23; i >= 1; i--) {
    await t.addPost({ title: `Published ${i}`, category: i % 2 === 0 ? 'koa' : 'caching', body: `Body **${i}**` }, i);
  }
  await t.addPost({ title: 'Secret draft', category: 'drafts-only', published: false }, 0);
});
afterAll(() => t.close());

describe('GET /', () => {
  it('lists the 10 newest published posts with links, dates, categories and excerpts', async () => {
    const res = await t.request().get('/').expect(200).expect('Content-Type', /text\/html/);
    const titles = [...res.text.matchAll(/<h2><a href="\/posts\/\d+">([^<]+)<\/a><\/h2>/g)].map((m) => m[1]);
    expect(titles).toEqual(Array.from({ length: 10 }, (_, i) => `Published ${i + 1}`));
    expect(res.text).toContain('<a href="/category/caching">caching</a>');
    expect(res.text).toMatch(/<time datetime="2026-01-14T[^"]+">14 January 2026<\/time>/);
    expect(res.text).toContain('Body 1');
    expect(res.text).not.toContain('Secret draft');
  });

  it('shows the sidebar with category counts and the 5 latest posts', async () => {
    const res = await t.request().get('/').expect(200);
    const sidebar = res.text.slice(res.text.indexOf('<aside'));
    expect(sidebar).toMatch(/href="\/category\/koa">koa<\/a> <span class="count">\(11\)/);
    expect(sidebar).toMatch(/href="\/category\/caching">caching<\/a> <span class="count">\(12\)/);
    expect(sidebar).not.toContain('drafts-only');
    const latest = [...sidebar.matchAll(/<li><a href="\/posts\/\d+">([^<]+)<\/a><\/li>/g)].map((m) => m[1]);
    expect(latest).toEqual(['Published 1', 'Published 2', 'Published 3', 'Published 4', 'Published 5']);
  });

  it('pages with ?page=N and links between pages', async () => {
    const first = await t.request().get('/').expect(200);
    expect(first.text).toContain('href="/?page=2"');
    expect(first.text).toContain('Page 1 of 3');
    const third = await t.request().get('/?page=3').expect(200);
    expect(third.text).toContain('Published 21');
    expect(third.text).toContain('Published 23');
    expect(third.text).not.toContain('Published 20<');
    expect(third.text).toContain('href="/?page=2"');
    expect(third.text).not.toContain('rel="next"');
  });

  it('answers 404 for a page past the end or a malformed page number', async () => {
    await t.request().get('/?page=4').expect(404);
    for (const page of ['0', '-1', 'abc', '1.5', '01']) await t.request().get(`/?page=${page}`).expect(404);
    await t.request().get('/?page=1&page=2').expect(404);
  });
});

describe('GET /posts/:id', () => {
  it('renders one published post from Markdown', async () => {
    const [post] = (await t.posts.listPublished({ page: 1 })).posts;
    const res = await t.request().get(`/posts/${post.id}`).expect(200);
    expect(res.text).toContain(`<h1>${post.title}</h1>`);
    expect(res.text).toContain('Body <strong>1</strong>');
  });

  it('answers 404 for unknown and non-numeric ids', async () => {
    for (const id of ['999999', 'abc', '1abc', '0', '-1', '1.0', '99999999999999999999']) {
      const res = await t.request().get(`/posts/${id}`).expect(404);
      expect(res.text).toContain('404');
    }
  });

  it('hides a draft from readers and shows it, marked, to the author', async () => {
    const draft = (await t.posts.listAll()).find((p) => !p.published);
    expect(draft).toBeDefined();
    const id = draft?.id ?? 0;
    await t.request().get(`/posts/${id}`).expect(404);
    const agent = t.request();
    await login(agent);
    const res = await agent.get(`/posts/${id}`).expect(200);
    expect(res.text).toContain('Secret draft');
    expect(res.text).toContain('class="draft-marker"');
  });
});

describe('GET /category/:name', () => {
  it('lists a category newest first, paged like the index', async () => {
    const res = await t.request().get('/category/koa').expect(200);
    const titles = [...res.text.matchAll(/<h2><a href="\/posts\/\d+">([^<]+)<\/a><\/h2>/g)].map((m) => m[1]);
    expect(titles).toEqual(['Published 2', 'Published 4', 'Published 6', 'Published 8', 'Published 10', 'Published 12', 'Published 14', 'Published 16', 'Published 18', 'Published 20']);
    expect(res.text).toContain('href="/category/koa?page=2"');
    const second = await t.request().get('/category/koa?page=2').expect(200);
    expect(second.text).toContain('Published 22');
    expect(second.text).toContain('href="/category/koa"');
    await t.request().get('/category/koa?page=3').expect(404);
  });

  it('answers 404 for unknown, draft-only and malformed categories', async () => {
    await t.request().get('/category/nope').expect(404);
    await t.request().get('/category/drafts-only').expect(404);
    await t.request().get('/category/Koa').expect(404);
    await t.request().get('/category/%3Cscript%3E').expect(404);
  });
});

describe('GET /about', () => {
  it('renders the about page with the sidebar', async () => {
    const res = await t.request().get('/about').expect(200);
    expect(res.text).toContain('<h1>About</h1>');
    expect(res.text).toContain('<aside class="sidebar">');
  });
});

describe('unknown paths', () => {
  it('answer an HTML 404 page', async () => {
    const res = await t.request().get('/no/such/page').expect(404).expect('Content-Type', /text\/html/);
    expect(res.text).toContain('There is nothing here.');
  });
});

describe('an empty blog', () => {
  it('has page 1 with no posts and 404 for page 2', async () => {
    const empty = await startTestApp();
    try {
      const res = await empty.request().get('/').expect(200);
      expect(res.text).toContain('No posts yet.');
      await empty.request().get('/?page=2').expect(404);
    } finally {
      await empty.close();
    }
  });
});
