import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTestApp, type TestApp } from '../support/app.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { closeApp, seedBlog, type SeededBlog } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { auditStored, cacheOf, recordWrites, storedValues } from './stored.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-leak-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A name that appears nowhere else, so finding it in a reader's page can only be a leak. */
const AUTHOR_NAME = 'Zyxwv-author-7781';
const DRAFT_TITLE = 'Qqdraft unpublished 5521';
const DRAFT_BODY = 'Qqdraft body never for readers 5521';

const backends = await pageCacheBackends({ scratch });

describe.each(backends)('what the author saw, on $name', (backend) => {
  let t: TestApp;
  let blog: SeededBlog;
  let author: supertest.Agent;
  let token: string;
  let draftId: number;
  let written: Set<string>;

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: { ...backend.env(), AUTHOR_USERNAME: AUTHOR_NAME } });
    written = recordWrites(cacheOf(t));
    blog = await seedBlog(t, scaled(12, 25));
    draftId = (await t.addPost({ title: DRAFT_TITLE, body: DRAFT_BODY, category: 'news', published: false })).id;
    author = t.request();
    token = await login(author, { username: AUTHOR_NAME, password: 'correct horse battery staple' });
  });
  afterAll(async () => {
    if (!backend.skip) await closeApp(t);
  });

  /** Every public route (and some that are not found), with and without query strings. */
  function crawl(): string[] {
    return [
      ...blog.paths,
      '/?page=3', '/?page=99', '/category/news?page=2', '/category/nothing', '/api/v1/posts?page=2', '/api/v1/posts?category=koa&page=1',
      `/posts/${draftId}`, `/api/v1/posts/${draftId}`, '/posts/999999', '/no-such-page', '/login', '/static/css/site.css', '/healthz',
    ];
  }

  /** What a reader's page must never contain; the login form has a token of its own. */
  function leaks(path: string, text: string): string[] {
    const secrets = [AUTHOR_NAME, 'action="/logout"', token, DRAFT_TITLE, DRAFT_BODY, '/admin/posts/', 'Draft: only you'];
    if (path !== '/login') secrets.push('_csrf');
    return secrets.filter((secret) => text.includes(secret));
  }

  async function readerCrawl(): Promise<{ pages: number; leaked: string[] }> {
    const leaked: string[] = [];
    let pages = 0;
    for (const path of crawl()) {
      // Once is enough in CI: after the author's crawl, a reader's first read is what the cache holds.
      for (let i = 0; i < scaled(1, 2); i++) {
        const res = await t.request().get(path);
        pages += 1;
        for (const secret of leaks(path, res.text)) leaked.push(`${path} → ${secret}`);
        if (path !== '/login' && res.headers['set-cookie'] !== undefined) leaked.push(`${path} → Set-Cookie`);
      }
      if (scaled(false, true)) {
        const head = await t.request().head(path);
        if (path !== '/login' && head.headers['set-cookie'] !== undefined) leaked.push(`HEAD ${path} → Set-Cookie`);
      }
    }
    return { pages, leaked };
  }

  async function authorCrawl(): Promise<void> {
    for (const path of crawl()) {
      const res = await author.get(path);
      expect(res.status, path).toBeLessThan(500);
      await author.head(path);
    }
    // The author really saw author pages: the crawl would prove nothing otherwise.
    const own = await author.get(`/posts/${draftId}`).expect(200);
    expect(own.text).toContain(AUTHOR_NAME);
    expect(own.text).toContain(DRAFT_TITLE);
  }

  it.skipIf(backend.skip)('author first, then readers: 0 reader pages carry author content', async () => {
    await cacheOf(t).clear();
    await authorCrawl();
    const { pages, leaked } = await readerCrawl();
    recordFigures(`leakage, author then reader, ${backend.name}`, { readerPages: pages, leaks: leaked.length });
    expect(leaked).toEqual([]);
  }, scaled(60_000, 300_000));

  it.skipIf(backend.skip)('readers first (cache warm), then the author, then readers again: 0 leaks', async () => {
    await cacheOf(t).clear();
    const first = await readerCrawl();
    await authorCrawl();
    const second = await readerCrawl();
    recordFigures(`leakage, reader-author-reader, ${backend.name}`, { readerPages: first.pages + second.pages, leaks: first.leaked.length + second.leaked.length });
    expect([...first.leaked, ...second.leaked]).toEqual([]);
  }, scaled(60_000, 300_000));

  it.skipIf(backend.skip)('stores no entry with a Set-Cookie, a cookie of ours, an error page or author content', async () => {
    const values = await storedValues(t, written);
    const audit = auditStored(values, [AUTHOR_NAME, token, DRAFT_TITLE, DRAFT_BODY]);
    recordFigures(`stored-entry audit after the crawls, ${backend.name}`, { entries: audit.entries, pages: audit.pages, problems: audit.problems.length });
    expect(audit.pages).toBeGreaterThan(10);
    expect(audit.problems).toEqual([]);
  });
});
