import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { AUTHOR_LIST_COLUMNS, authorListQuery, containsPattern, type AuthorListFilter } from '../../../src/blog/services/author-list.ts';
import { PostService, type NewPost } from '../../../src/blog/services/posts.ts';
import { testDatabase, type TestDatabase } from '../../support/app.ts';

// Runs on SQLite and, in vitest's postgres project, on PostgreSQL: the search must behave alike.

let dir: string;
let db: TestDatabase;
let ds: DataSource;
let posts: PostService;

/** Titles with every character a LIKE or a quoted string could take for syntax, and non-ASCII letters. */
const SPECIAL_TITLES = [
  '100% coverage',
  '100 percent coverage',
  'snake_case names',
  'snakeXcase names',
  "O'Reilly's \"quoted\" book",
  'C:\\path\\to\\file',
  'École maternelle',
  'ÜBER STRASSE',
  'Ünïcödé 日本語 emoji 🎉',
];
const BASE = Date.UTC(2025, 0, 1);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-author-list-'));
  db = testDatabase(dir);
  ds = await openDatabase(db.url);
  posts = new PostService(ds);
  // 120 ordinary posts (every third a draft, four categories), then the special titles, newest last.
  const creates: NewPost[] = Array.from({ length: 120 }, (_, i) => ({
    input: { title: `Ordinary post ${i + 1}`, body: `Body ${i + 1} `.repeat(50), category: ['alpha', 'beta', 'gamma', 'delta'][i % 4], published: i % 3 !== 0 },
    createdAt: new Date(BASE + i * 60_000),
    slug: `ordinary-${i + 1}`,
  }));
  SPECIAL_TITLES.forEach((title, i) => {
    creates.push({ input: { title, body: 'b', category: 'special', published: true }, createdAt: new Date(BASE + (200 + i) * 60_000), slug: `special-${i + 1}` });
  });
  // Two posts at the same moment: the newer id comes first.
  creates.push({ input: { title: 'Twin A', body: 'b', category: 'twins', published: true }, createdAt: new Date(BASE + 300 * 60_000), slug: 'twin-a' });
  creates.push({ input: { title: 'Twin B', body: 'b', category: 'twins', published: false }, createdAt: new Date(BASE + 300 * 60_000), slug: 'twin-b' });
  await posts.saveBatch({ creates });
});
afterAll(async () => {
  await ds.destroy();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const filter = (over: Partial<AuthorListFilter> = {}): AuthorListFilter => ({ page: 1, perPage: 50, status: 'all', ...over });
const titles = async (over: Partial<AuthorListFilter> = {}) => (await posts.listForAuthor(filter({ perPage: 500, ...over }))).rows.map((row) => row.title);

describe('PostService.listForAuthor()', () => {
  it('pages every post, drafts included, newest first (ties by id), 50 a page', async () => {
    const first = await posts.listForAuthor(filter());
    expect(first).toMatchObject({ page: 1, pages: 3, total: 131 });
    expect(first.rows).toHaveLength(50);
    expect(first.rows.slice(0, 2).map((r) => r.title)).toEqual(['Twin B', 'Twin A']);
    const third = await posts.listForAuthor(filter({ page: 3 }));
    expect(third.rows).toHaveLength(31);
    expect(third.rows.at(-1)?.title).toBe('Ordinary post 1');
    const all = [first, await posts.listForAuthor(filter({ page: 2 })), third].flatMap((p) => p.rows.map((r) => r.id));
    expect(new Set(all).size).toBe(131);
  });

  it('answers a page past the end with the last page', async () => {
    expect(await posts.listForAuthor(filter({ page: 99 }))).toMatchObject({ page: 3, pages: 3 });
    expect(await posts.listForAuthor(filter({ page: 5, search: 'no such title' }))).toEqual({ rows: [], page: 1, pages: 1, total: 0 });
  });

  it('filters by status and category, together', async () => {
    expect((await posts.listForAuthor(filter({ status: 'draft' }))).total).toBe(41);
    expect((await posts.listForAuthor(filter({ status: 'published' }))).total).toBe(90);
    expect(await titles({ category: 'twins' })).toEqual(['Twin B', 'Twin A']);
    expect(await titles({ category: 'twins', status: 'published' })).toEqual(['Twin A']);
    expect(await titles({ category: 'twins', status: 'draft' })).toEqual(['Twin B']);
    expect((await posts.listForAuthor(filter({ category: 'alpha', status: 'draft' }))).total).toBe(10);
    expect(await titles({ category: 'nope' })).toEqual([]);
  });

  it('searches titles case-insensitively, ASCII and beyond', async () => {
    expect(await titles({ search: 'ordinary POST 11' })).toEqual(['Ordinary post 119', 'Ordinary post 118', 'Ordinary post 117', 'Ordinary post 116', 'Ordinary post 115', 'Ordinary post 114', 'Ordinary post 113', 'Ordinary post 112', 'Ordinary post 111', 'Ordinary post 110', 'Ordinary post 11']);
    expect(await titles({ search: 'école' })).toEqual(['École maternelle']);
    expect(await titles({ search: 'ÉCOLE' })).toEqual(['École maternelle']);
    expect(await titles({ search: 'über' })).toEqual(['ÜBER STRASSE']);
    expect(await titles({ search: 'ÜNÏCÖDÉ' })).toEqual(['Ünïcödé 日本語 emoji 🎉']);
    expect(await titles({ search: '日本' })).toEqual(['Ünïcödé 日本語 emoji 🎉']);
    expect(await titles({ search: '🎉' })).toEqual(['Ünïcödé 日本語 emoji 🎉']);
  });

  it('takes % and _ literally, not as wildcards', async () => {
    expect(await titles({ search: '100%' })).toEqual(['100% coverage']);
    expect(await titles({ search: '%' })).toEqual(['100% coverage']);
    expect(await titles({ search: 'snake_case' })).toEqual(['snake_case names']);
    expect(await titles({ search: '_' })).toEqual(['snake_case names']);
    expect(await titles({ search: '%%%' })).toEqual([]);
  });

  it('takes quotes and backslashes literally (bound parameters, escaped pattern)', async () => {
    expect(await titles({ search: "O'Reilly's" })).toEqual(["O'Reilly's \"quoted\" book"]);
    expect(await titles({ search: '"quoted"' })).toEqual(["O'Reilly's \"quoted\" book"]);
    expect(await titles({ search: "' OR '1'='1" })).toEqual([]);
    expect(await titles({ search: 'C:\\path' })).toEqual(['C:\\path\\to\\file']);
    expect(await titles({ search: '\\' })).toEqual(['C:\\path\\to\\file']);
    expect(await titles({ search: '\\%' })).toEqual([]);
  });

  it('combines a search with the filters and pages its results', async () => {
    const page = await posts.listForAuthor(filter({ search: 'ordinary', status: 'draft', category: 'alpha', perPage: 4, page: 2 }));
    expect(page).toMatchObject({ total: 10, pages: 3, page: 2 });
    expect(page.rows.map((r) => r.title)).toEqual(['Ordinary post 61', 'Ordinary post 49', 'Ordinary post 37', 'Ordinary post 25']);
  });
});

describe('authorListQuery()', () => {
  it('selects only the columns the list shows: never the body', async () => {
    const query = authorListQuery(ds, { status: 'draft', category: 'alpha', search: 'x' });
    expect(query.getQuery()).not.toMatch(/body/i);
    expect(AUTHOR_LIST_COLUMNS).not.toContain('body');
    const { rows } = await posts.listForAuthor(filter({ perPage: 3 }));
    for (const row of rows) expect(Object.keys(row).sort()).toEqual([...AUTHOR_LIST_COLUMNS].sort());
  });

  it('binds the search text as a parameter, never in the SQL', () => {
    const [sql, parameters] = authorListQuery(ds, { status: 'all', search: "it's 100%" }).getQueryAndParameters();
    expect(sql).not.toContain("it's");
    expect(parameters).toContain("%it's 100\\%%");
  });
});

describe('containsPattern()', () => {
  it('escapes the LIKE wildcards and the escape character itself', () => {
    expect(containsPattern('a%b_c\\d')).toBe('%a\\%b\\_c\\\\d%');
    expect(containsPattern('')).toBe('%%');
  });
});
