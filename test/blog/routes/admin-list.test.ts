import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPost } from '../../../src/blog/services/posts.ts';
import { login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;
let author: supertest.Agent;

/** A word only post bodies contain: the list must never show (or load) a body. */
const BODY_MARK = 'bodytextmarker';
const BASE = Date.UTC(2025, 0, 1);

beforeAll(async () => {
  t = await startTestApp();
  const creates: NewPost[] = Array.from({ length: 130 }, (_, i) => ({
    input: { title: `Listed post ${i + 1}`, body: `${BODY_MARK} ${i}`, category: i % 2 ? 'odd' : 'even', published: i % 5 !== 0 },
    createdAt: new Date(BASE + i * 60_000),
    slug: `listed-${i + 1}`,
  }));
  for (const [i, title] of ['50% off <b>sale</b>', 'under_score', "Quote's \"here\"", 'Ça marche déjà'].entries()) {
    creates.push({ input: { title, body: BODY_MARK, category: 'special', published: false }, createdAt: new Date(BASE + (500 + i) * 60_000), slug: `special-${i}` });
  }
  await t.posts.saveBatch({ creates });
  author = t.request();
  await login(author);
});
afterAll(() => t.close());

/** The post titles listed on a page of /admin, in order. */
function listed(html: string): string[] {
  return [...html.matchAll(/<td class="title"><a href="\/posts\/\d+">([^<]*)<\/a><\/td>/g)].map((m) => m[1]);
}

describe('GET /admin', () => {
  it('shows the 50 newest posts, drafts included, with a count and links to the other pages, and no body', async () => {
    const res = await author.get('/admin').expect(200);
    const titles = listed(res.text);
    expect(titles).toHaveLength(50);
    expect(titles.slice(0, 2)).toEqual(['Ça marche déjà', 'Quote&#39;s &quot;here&quot;']);
    expect(res.text).toContain('134 posts · page 1 of 3');
    expect(res.text).toContain('href="/admin?page=2"');
    expect(res.text).toContain('href="/admin?page=3"');
    expect(res.text).toContain('draft-marker');
    expect(res.text).not.toContain(BODY_MARK);
    const last = await author.get('/admin?page=3').expect(200);
    expect(listed(last.text).at(-1)).toBe('Listed post 1');
    expect(last.text).toContain('href="/admin?page=2"');
    expect(last.text).toContain('href="/admin"');
  });

  it('filters by status and category, keeping the filters in the page links', async () => {
    const drafts = await author.get('/admin?status=draft&category=even').expect(200);
    expect(listed(drafts.text)).toHaveLength(13);
    expect(listed(drafts.text).every((title) => Number(title.split(' ')[2]) % 10 === 1)).toBe(true);
    expect(drafts.text).toContain('13 posts match');
    const published = await author.get('/admin?status=published').expect(200);
    expect(published.text).toContain('104 posts match · page 1 of 3');
    expect(published.text).toContain('href="/admin?status=published&amp;page=2"');
    expect(published.text).toMatch(/<option value="published" selected>/);
    const categories = await author.get('/admin?category=special').expect(200);
    expect(listed(categories.text)).toHaveLength(4);
    expect(categories.text).toMatch(/<option value="special" selected>special<\/option>/);
  });

  it('searches titles case-insensitively, taking %, _, quotes and accents literally', async () => {
    const search = async (q: string) => listed((await author.get('/admin').query({ q }).expect(200)).text);
    expect(await search('LISTED POST 12')).toEqual(['Listed post 129', 'Listed post 128', 'Listed post 127', 'Listed post 126', 'Listed post 125', 'Listed post 124', 'Listed post 123', 'Listed post 122', 'Listed post 121', 'Listed post 120', 'Listed post 12']);
    expect(await search('50%')).toEqual(['50% off &lt;b&gt;sale&lt;/b&gt;']);
    expect(await search('%')).toEqual(['50% off &lt;b&gt;sale&lt;/b&gt;']);
    expect(await search('_')).toEqual(['under_score']);
    expect(await search("quote's \"HERE\"")).toEqual(['Quote&#39;s &quot;here&quot;']);
    expect(await search('ÇA MARCHE DÉJÀ')).toEqual(['Ça marche déjà']);
    expect(await search('<b>')).toEqual(['50% off &lt;b&gt;sale&lt;/b&gt;']);
    const none = await author.get('/admin').query({ q: 'nothing like it' }).expect(200);
    expect(none.text).toContain('No posts match.');
    const kept = await author.get('/admin').query({ q: 'listed post', page: '2' }).expect(200);
    expect(kept.text).toContain('130 posts match · page 2 of 3');
    expect(kept.text).toContain('value="listed post"');
    expect(kept.text).toContain('href="/admin?q=listed+post"');
    expect(kept.text).toContain('href="/admin?q=listed+post&amp;page=3"');
  });

  it('answers every malformed parameter with a page and a notice, never an error', async () => {
    const queries = [
      'page=abc', 'page=0', 'page=-3', 'page=1.5', 'page=99999999999', 'page=1&page=2', 'page[]=2', 'page[a]=1',
      'status=deleted', 'status=', 'status[]=draft', 'category=NOT%20A%20CATEGORY', 'category=%E2%82', 'category=' + 'x'.repeat(500),
      'q=%00', 'q=%00%00%00', 'q=%ED%A0%80', 'q=%FF%FE', 'q=' + 'a'.repeat(5000), 'q=%25%5F%5C', "q='%3B%20DROP%20TABLE%20post%3B--", 'q=a&q=b', 'q[$ne]=1',
      '%=%', '&&&', 'page=%', 'q=%',
    ];
    for (const query of queries) {
      const res = await author.get(`/admin?${query}`);
      expect(res.status, query).toBe(200);
      expect(res.text, query).toContain('Your posts');
    }
    const badPage = await author.get('/admin?page=abc').expect(200);
    expect(badPage.text).toContain('showing the first page');
    expect(listed(badPage.text)).toHaveLength(50);
    const pastEnd = await author.get('/admin?page=40').expect(200);
    expect(pastEnd.text).toContain('There is no page 40; showing page 3, the last.');
    expect(listed(pastEnd.text).at(-1)).toBe('Listed post 1');
    const long = await author.get(`/admin?q=${'z'.repeat(300)}`).expect(200);
    expect(long.text).toContain('Searches are at most 100 characters');
    expect(long.text).toContain(`value="${'z'.repeat(100)}"`);
    expect(await t.posts.count()).toBe(134);
  });
});
