import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { ImportError, importPosts, parseImportFile } from '../../../src/blog/import.ts';
import { PostService } from '../../../src/blog/services/posts.ts';

const run = promisify(execFile);
const BENCH = join(import.meta.dirname, '../../../../shared/bench/posts.json');
const record = (over: Record<string, unknown> = {}) => ({
  title: 'T',
  category: 'koa',
  body: 'Body',
  created_at: '2025-01-02T03:04:05Z',
  published: true,
  ...over,
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-import-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('parseImportFile()', () => {
  it('reads the benchmark data set (300 posts)', () => {
    const records = parseImportFile(readFileSync(BENCH, 'utf8'));
    expect(records).toHaveLength(300);
    expect(records[0].createdAt).toBeInstanceOf(Date);
  });

  it.each([
    ['not json', 'is not valid JSON'],
    ['{}', 'must hold a JSON array'],
    [JSON.stringify([record(), record({ title: 'Bad', created_at: 'yesterday' })]), 'record 2 ("Bad"): "created_at"'],
    [JSON.stringify([record({ published: 'yes' })]), 'record 1 ("T"): "published"'],
    [JSON.stringify([record({ category: 'Not OK' })]), 'record 1 ("T"): "category"'],
    [JSON.stringify([5]), 'record 1: expected an object'],
  ])('names the problem in %s', (text, message) => {
    expect(() => parseImportFile(text)).toThrow(ImportError);
    expect(() => parseImportFile(text)).toThrow(message);
  });
});

describe('importPosts()', () => {
  it('imports into a database that already has posts, keeping dates and slugs, with progress', async () => {
    const ds = await openDatabase(`sqlite:${join(dir, 'k.sqlite')}`);
    const posts = new PostService(ds);
    await posts.create({ title: 'Existing', body: 'b', category: 'x', published: true });
    const progress: number[] = [];
    const records = parseImportFile(JSON.stringify([record({ slug: 'custom-slug' }), record({ published: false })]));
    await importPosts(posts, records, (done) => progress.push(done));
    expect(progress).toEqual([2]);
    expect(await posts.count()).toBe(3);
    const imported = (await posts.listAll()).find((p) => p.slug === 'custom-slug');
    expect(imported?.createdAt.toISOString()).toBe('2025-01-02T03:04:05.000Z');
    await ds.destroy();
  });
});

describe('npm run import', () => {
  it('imports the benchmark file into a fresh database with a progress line', async () => {
    const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(dir, 'fresh.sqlite')}` };
    const { stdout } = await run('npx', ['tsx', 'src/blog/cli/import.ts', BENCH], { env, cwd: join(import.meta.dirname, '../../..') });
    expect(stdout).toContain('importing 300/300 posts');
    const ds = await openDatabase(env.DATABASE_URL);
    expect(await new PostService(ds).count()).toBe(300);
    await ds.destroy();
  }, 60_000);

  it('fails with a message naming the bad record and writes nothing', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([record(), record({ title: 'Broken', body: '' })]));
    const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(dir, 'bad.sqlite')}` };
    const failure = await run('npx', ['tsx', 'src/blog/cli/import.ts', file], { env, cwd: join(import.meta.dirname, '../../..') }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('record 2 ("Broken"): "body"');
    expect(existsSync(join(dir, 'bad.sqlite'))).toBe(false);
  }, 60_000);
});
