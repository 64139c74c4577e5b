import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

// Markdown that escapes HTML twice reads, on the post's page, as the escaped text
// "&lt;script&gt;…". Excerpts decoded `&amp;` and then `&lt;` in turn, so the JSON API and the
// feed's summary carried a literal "<script>" instead.
const BODY = 'Write &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; to show a tag, and &lt;b&gt; for bold.';
const TEXT = 'Write &lt;script&gt;alert(1)&lt;/script&gt; to show a tag, and <b> for bold.';

describe('excerpts of Markdown with entity-escaped HTML', () => {
  let t: TestApp;
  let id: number;
  beforeAll(async () => {
    t = await startTestApp();
    id = (await t.addPost({ title: 'Escaping', category: 'html', body: BODY })).id;
  });
  afterAll(() => t.close());

  it('decodes entities once in the JSON API, as the post page reads', async () => {
    const page = await t.request().get(`/posts/${id}`).expect(200);
    expect(page.text).toContain('Write &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; to show a tag, and &lt;b&gt; for bold.');
    const list = await t.request().get('/api/v1/posts').expect(200);
    expect(list.body.posts[0].excerpt).toBe(TEXT);
    const one = await t.request().get(`/api/v1/posts/${id}`).expect(200);
    expect(one.body.excerpt).toBe(TEXT);
  });

  it('escapes the summary of the feed once, for XML', async () => {
    const feed = await t.request().get('/feed.xml').expect(200);
    expect(feed.text).toContain(
      '<summary>Write &#38;lt;script&#38;gt;alert(1)&#38;lt;/script&#38;gt; to show a tag, and &#60;b&#62; for bold.</summary>',
    );
    expect(feed.text).not.toMatch(/<summary>[^<]*&#60;script/);
  });

  it('escapes the excerpt of the index and category listings once, for HTML', async () => {
    for (const path of ['/', '/category/html']) {
      const page = await t.request().get(path).expect(200);
      expect(page.text, path).toContain('<p>Write &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; to show a tag, and &lt;b&gt; for bold.</p>');
    }
  });
});
