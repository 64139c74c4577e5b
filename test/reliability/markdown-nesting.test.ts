import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeProblems, parseImportFile } from '../../src/blog/import/records.ts';
import { MAX_MARKDOWN_NESTING } from '../../src/blog/markdown-nesting.ts';
import type { Post } from '../../src/blog/services/posts.ts';
import { login, SITE_URL, startTestApp, type TestApp } from '../support/app.ts';

// Markdown that made marked throw `RangeError: Maximum call stack size exceeded`: once such a
// post was published, the index, its category, the feed and both API lists answered 500.
const QUOTES = `${'>'.repeat(90_000)} deep`;
const BULLETS = `${'- '.repeat(20_000)}deep`;
// Nesting marked would read inside a quote from a lazy line, not visible in the line's own prefix.
const LAZY = `>1.\n    ${'- '.repeat(20_000)}deep`;
// Markdown on which marked itself throws a TypeError (no nesting to speak of).
const MARKED_BUG = '- e\n  >1.\ne';
const TOO_DEEP = `Blockquotes and lists may nest at most ${MAX_MARKDOWN_NESTING} levels deep; line 1 goes deeper.`;

describe('Markdown nested past the limit', () => {
  let t: TestApp;
  let author: ReturnType<TestApp['request']>;
  let csrf: string;
  beforeAll(async () => {
    t = await startTestApp();
    author = t.request();
    csrf = await login(author);
  });
  afterAll(() => t.close());

  const preview = (body: object) => author.post('/api/v1/preview').set('X-CSRF-Token', csrf).set('Origin', SITE_URL).type('json').send(body);

  it.each([
    ['`>` × 90,000', QUOTES, TOO_DEEP],
    ['`- ` × 20,000', BULLETS, TOO_DEEP],
    ['a lazy line of `- ` × 20,000 under a quote', LAZY, TOO_DEEP.replace('line 1', 'line 2')],
  ])('is refused on save with the body field naming the problem: %s', async (_, body, message) => {
    const form = { _csrf: csrf, title: 'Deep', category: 'deep', body, published: 'on' };
    const created = await author.post('/admin/posts').type('form').send(form).expect(400);
    expect(created.text).toContain(`<p class="field-error" id="body-error">${message}</p>`);

    const post = await t.addPost({ title: 'Editable', category: 'deep' });
    const edited = await author.post(`/admin/posts/${post.id}`).type('form').send({ ...form, version: '1' }).expect(400);
    expect(edited.text).toContain(`<p class="field-error" id="body-error">${message}</p>`);
    expect((await t.posts.get(post.id))?.body).toBe(post.body);
    await t.posts.remove(post.id);
    expect(await t.posts.count()).toBe(0);
  });

  it.each([
    ['`>` × 90,000', QUOTES, false],
    ['`- ` × 20,000, bypassing the cache', BULLETS, true],
  ])('is refused by the preview with a JSON 400 naming the problem: %s', async (_, markdown, bypass) => {
    const res = await preview({ markdown, bypass }).expect(400).expect('Content-Type', /json/);
    expect(res.body).toEqual({ error: { status: 400, message: `"markdown" cannot be rendered: ${TOO_DEEP}` } });
  });

  it('makes the preview a JSON 400, not a 500, when marked itself fails', async () => {
    const res = await preview({ markdown: MARKED_BUG }).expect(400);
    expect(res.body.error.message).toMatch(/^"markdown" cannot be rendered: marked failed on it \(TypeError: /);
  });

  it('is reported by the import as a bad record, naming the field and the reason', () => {
    const record = { title: 'Deep', category: 'deep', body: QUOTES, created_at: '2025-01-02T03:04:05Z', published: true };
    const file = JSON.stringify([{ ...record, title: 'Fine', body: 'fine' }, record]);
    const { records, problems } = parseImportFile(file);
    expect(records.map((r) => r.input.title)).toEqual(['Fine']);
    expect(describeProblems(problems)).toEqual([`record 2 ("Deep"): "body": ${TOO_DEEP}`]);
  });
});

describe('a stored post whose Markdown cannot be rendered', () => {
  let t: TestApp;
  const bad: Post[] = [];
  let fine: Post;
  beforeAll(async () => {
    t = await startTestApp();
    fine = await t.addPost({ title: 'A fine post', category: 'deep', body: 'Fine **words**.' }, 2);
    // Written straight through the service, as a post stored before the rule (or by hand) would be.
    bad.push(await t.addPost({ title: 'Quotes', category: 'deep', body: `Before the quotes. <img src=x onerror=alert(1)>\n\n${QUOTES}` }, 1));
    bad.push(await t.addPost({ title: 'Bullets', category: 'deep', body: BULLETS }, 1));
    bad.push(await t.addPost({ title: 'Marked bug', category: 'deep', body: MARKED_BUG }, 1));
  });
  afterAll(() => t.close());

  const failures = () => t.logger.lines.filter((line) => line.msg.includes('could not be rendered'));

  it('leaves every listing, the feed and the API answering 200, with plain-text excerpts', async () => {
    for (const path of ['/', '/category/deep', '/feed.xml', '/api/v1/posts', '/api/v1/posts?category=deep']) {
      const res = await t.request().get(path);
      expect(res.status, path).toBe(200);
      expect(res.text, path).toContain('A fine post');
      expect(res.text, path).toContain('Before the quotes. deep');
      expect(res.text, path).toContain('Marked bug');
    }
    const list = await t.request().get('/api/v1/posts?category=deep').expect(200);
    const excerpts = Object.fromEntries(list.body.posts.map((p: { title: string; excerpt: string }) => [p.title, p.excerpt]));
    expect(excerpts).toEqual({ 'A fine post': 'Fine words.', Quotes: 'Before the quotes. deep', Bullets: 'deep', 'Marked bug': 'e e' });
  });

  it("says on the post's own page and in the API's html that it could not be rendered, and shows its text", async () => {
    for (const post of bad) {
      const page = await t.request().get(`/posts/${post.id}`).expect(200);
      expect(page.text).toContain('<p class="render-failed">This post could not be rendered.');
      expect(page.text).toContain('<pre class="post-source">');
      const json = await t.request().get(`/api/v1/posts/${post.id}`).expect(200);
      expect(json.body.html).toContain('This post could not be rendered.');
    }
    expect((await t.request().get(`/posts/${bad[2].id}`)).text).toContain('- e\n  &#62;1.\ne');
    const escaped = await t.request().get(`/posts/${bad[0].id}`);
    expect(escaped.text).toContain('Before the quotes. &#60;img src=x onerror=alert(1)&#62;');
    expect(escaped.text).not.toContain('<img src=x');
    expect((await t.request().get(`/posts/${fine.id}`)).text).toContain('Fine <strong>words</strong>.');
  });

  it('is logged once per post version, not once per request', async () => {
    const before = failures().length;
    for (let i = 0; i < 3; i++) {
      for (const path of ['/', '/feed.xml', '/api/v1/posts', ...bad.map((p) => `/posts/${p.id}`), ...bad.map((p) => `/api/v1/posts/${p.id}`)]) {
        await t.request().get(path).expect(200);
      }
    }
    const logged = failures().map((line) => line.msg);
    expect(logged.length - before).toBe(0);
    expect(logged).toHaveLength(bad.length);
    for (const post of bad) expect(logged.filter((msg) => msg.startsWith(`post ${post.id} (version 1) could not be rendered: `))).toHaveLength(1);

    // A new version is logged once more.
    await t.posts.update(bad[1].id, { title: 'Bullets', category: 'deep', body: `${BULLETS} again`, published: true });
    for (let i = 0; i < 3; i++) await t.request().get(`/posts/${bad[1].id}`).expect(200);
    expect(failures().filter((line) => line.msg.startsWith(`post ${bad[1].id} (version 2)`))).toHaveLength(1);
  });

  it('shows the author a draft that cannot be rendered, with its notice', async () => {
    const draft = await t.addPost({ title: 'Deep draft', category: 'deep', body: QUOTES, published: false });
    const author = t.request();
    await login(author);
    const page = await author.get(`/posts/${draft.id}`).expect(200);
    expect(page.text).toContain('This post could not be rendered.');
    await author.get('/admin').expect(200);
  });
});
