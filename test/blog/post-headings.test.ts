import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { excerpt, renderMarkdown } from '../../src/blog/markdown.ts';
import { memoKey, memoVersionTag } from '../../src/cache/keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

describe('renderMarkdown() headings', () => {
  it('start at h2 under the page title: every level moves down one, h6 stays h6', () => {
    const html = renderMarkdown('# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five\n\n###### Six');
    expect(html).not.toMatch(/<h1/);
    expect([...html.matchAll(/<(h\d)>(\w+)<\/h\d>/g)].map((m) => `${m[1]}:${m[2]}`)).toEqual(['h2:One', 'h3:Two', 'h4:Three', 'h5:Four', 'h6:Five', 'h6:Six']);
  });

  it('moves setext headings and headings written as raw HTML too', () => {
    expect(renderMarkdown('Title\n=====\n\nSub\n---')).toBe('<h2>Title</h2>\n<h3>Sub</h3>\n');
    expect(renderMarkdown('<h1>Raw</h1>\n\n<h6 onclick="x()">Deep</h6>')).toBe('<h2>Raw</h2><h6>Deep</h6>');
  });
});

describe('excerpt() prose', () => {
  it('leaves out headings and code blocks, keeping inline code', () => {
    const body = '# The title again\n\nThe first real sentence, with `inline()` code.\n\n```ts\nconst x = compute(1, 2);\n```\n\n## A section\n\nMore prose.';
    expect(excerpt.uncached(body)).toBe('The first real sentence, with inline() code. More prose.');
  });

  it('falls back to all of the text when there is no prose', () => {
    expect(excerpt.uncached('# Only a heading')).toBe('Only a heading');
    expect(excerpt.uncached('```\nonly code\n```')).toBe('only code');
  });
});

describe('a post page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory' }, demo: true });
  });
  afterAll(() => t.close());

  it('has one h1, the title, above the body’s own headings', async () => {
    const post = await t.addPost({ title: 'Page title', body: '# Body heading\n\nText.\n\n## Sub' });
    const html = (await t.request().get(`/posts/${post.id}`).expect(200)).text;
    expect(html.match(/<h1[ >]/g)).toHaveLength(1);
    expect(html).toContain('<h2>Body heading</h2>');
    expect(html).toContain('<h3>Sub</h3>');
  });

  it('never serves HTML an older renderer memoized in the shared cache (the key carries the renderer version)', async () => {
    const post = await t.addPost({ title: 'Memo post', body: '# Heading\n\nText.' });
    // What the previous release stored for this post version under its key: the body with an h1.
    const { cache } = t.app.context.services.caching;
    const version = await cache.tagVersion(memoVersionTag('postHtml'));
    if (version === undefined) throw new Error('no memo version');
    const oldKey = memoKey('postHtml', version, [{ cacheId: `${post.id}@${post.version}@${post.updatedAt.getTime()}` }]);
    await cache.set(oldKey, '<h1>Heading</h1>\n<p>Text.</p>\n');
    const html = (await t.request().get(`/posts/${post.id}`).expect(200)).text;
    expect(html).toContain('<h2>Heading</h2>');
    expect(html.match(/<h1[ >]/g)).toHaveLength(1);
  });

  it('of a demo post shows its title once, and its listing excerpt starts with prose', async () => {
    const { posts } = await t.posts.listPublished({ page: 1, perPage: 50 });
    const demos = posts.filter((p) => p.body.includes('demo posts'));
    expect(demos).toHaveLength(12);
    for (const demo of demos) {
      expect(demo.body).not.toContain(demo.title);
      const html = (await t.request().get(`/posts/${demo.id}`).expect(200)).text;
      const main = /<main>([\s\S]*)<\/main>/.exec(html)?.[1] ?? '';
      expect(main.split(demo.title).length - 1, demo.title).toBe(1);
      expect(demo.body).not.toContain('SEED_DEMO');
    }
    const api = (await t.request().get('/api/v1/posts').expect(200)).body as { posts: { title: string; excerpt: string }[] };
    for (const listed of api.posts) {
      expect(listed.excerpt.startsWith(listed.title), listed.title).toBe(false);
      expect(listed.excerpt).not.toContain('In short');
      expect(listed.excerpt).not.toContain('cache.getOrSet');
    }
  });
});
