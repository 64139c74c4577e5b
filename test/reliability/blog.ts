import type supertest from 'supertest';
import { csrfFrom, type TestApp } from '../support/app.ts';

/** A seeded blog: what a reader may request, and what each page must show to be correct. */
export interface SeededBlog {
  ids: number[];
  categories: string[];
  /** Every public page worth requesting. */
  paths: string[];
  /** Per path, a text the correct page contains. */
  expect: Record<string, string>;
}

/** Categories the seeded posts are spread over. */
export const CATEGORIES = ['news', 'koa', 'cache'] as const;

/**
 * Adds `count` published posts (newest last) over three categories and lists the public pages
 * with the text each must contain: the index and its second page, every post (HTML and JSON), the
 * categories, about, the feed and the JSON list.
 */
export async function seedBlog(t: TestApp, count = 25): Promise<SeededBlog> {
  const ids: number[] = [];
  const titles: string[] = [];
  for (let i = 0; i < count; i++) {
    const title = `Seeded post ${i} about ${CATEGORIES[i % 3]}`;
    const post = await t.addPost({ title, body: `Body **${i}** with some text.`, category: CATEGORIES[i % 3] }, count - i);
    ids.push(post.id);
    titles.push(title);
  }
  const newest = titles[titles.length - 1];
  const expect: Record<string, string> = {
    '/': newest,
    '/about': 'is a small blog',
    '/feed.xml': newest,
    '/api/v1/posts': newest,
  };
  if (count > 10) expect['/?page=2'] = titles[count - 11];
  CATEGORIES.forEach((category, c) => {
    const last = titles.filter((_, i) => i % 3 === c).at(-1);
    if (last) expect[`/category/${category}`] = last;
  });
  ids.forEach((id, i) => {
    expect[`/posts/${id}`] = titles[i];
    expect[`/api/v1/posts/${id}`] = titles[i];
  });
  return { ids, categories: [...CATEGORIES], paths: Object.keys(expect), expect };
}

/** Text no correct reader page contains: the error page and any author-only markup. */
export const READER_FORBIDDEN = ['class="error-page"', 'action="/logout"', 'name="_csrf"'];

/** Closes a test app and its cache (whose Redis client would otherwise keep reconnecting). */
export async function closeApp(t: TestApp | undefined): Promise<void> {
  if (!t) return;
  await t.app.context.services.caching.cache.close();
  await t.close();
}

/** The base URL of a test app's server. */
export function baseUrl(t: TestApp): string {
  const address = t.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return `http://127.0.0.1:${address.port}`;
}

/** Requests every path twice in order, so the cache holds them all before a scenario starts. */
export async function warm(t: TestApp, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    await t.request().get(path);
    await t.request().get(path);
  }
}

/**
 * Edits a post through the author's form (GET the editor for its version and token, then POST),
 * resolving the response status: 303 when saved.
 */
export async function editPost(agent: supertest.Agent, id: number, fields: Record<string, string>): Promise<number> {
  const form = await agent.get(`/admin/posts/${id}/edit`).expect(200);
  const version = /name="version" value="(\d+)"/.exec(form.text)?.[1] ?? '';
  const value = (name: string) => unescapeHtml(new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(form.text)?.[1] ?? '');
  const body = unescapeHtml((/<textarea[^>]*name="body"[^>]*>\n?([\s\S]*?)<\/textarea>/.exec(form.text)?.[1] ?? 'Body'));
  const res = await agent
    .post(`/admin/posts/${id}`)
    .type('form')
    .send({ _csrf: csrfFrom(form.text), version, title: value('title'), body, category: value('category'), published: 'on', ...fields });
  return res.status;
}

function unescapeHtml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** Reads `path` with `n` parallel anonymous requests; resolves the bodies of those lacking `text`. */
export async function parallelReadsMissing(t: TestApp, path: string, text: string, n = 20): Promise<string[]> {
  const pages = await Promise.all(Array.from({ length: n }, () => t.request().get(path)));
  return pages.filter((res) => res.status !== 200 || !res.text.includes(text)).map((res) => `${res.status} ${res.headers['x-cache']}`);
}
