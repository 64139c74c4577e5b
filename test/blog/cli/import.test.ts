import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePosts } from '../../../bench/posts-data.ts';
import { openDatabase } from '../../../src/blog/db.ts';
import { applyImport } from '../../../src/blog/import/apply.ts';
import { planImport } from '../../../src/blog/import/plan.ts';
import { describeProblems, ImportFileError, parseImportFile } from '../../../src/blog/import/records.ts';
import { PostService } from '../../../src/blog/services/posts.ts';
import { runImport } from './run-import.ts';

const record = (over: Record<string, unknown> = {}) => ({ title: 'T', category: 'koa', body: 'Body', created_at: '2025-01-02T03:04:05Z', published: true, ...over });

let dir: string;
let postsFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-import-'));
  postsFile = join(dir, 'posts.json');
  writeFileSync(postsFile, JSON.stringify(generatePosts(300, 7)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseImportFile()', () => {
  it('reads a generated data set, oldest first', () => {
    const { records, problems } = parseImportFile(JSON.stringify(generatePosts(300, 7)));
    expect(problems).toEqual([]);
    expect(records).toHaveLength(300);
    expect(records[0].createdAt.getTime()).toBeLessThanOrEqual(records[299].createdAt.getTime());
  });

  it.each([
    ['not json', 'input:1:1: not valid JSON: unexpected character "n"'],
    ['[\n  {"title": "A",}\n]', 'input:2:17: not valid JSON: expected a property name in double quotes'],
    ['[\n  {"title": "A"}\n', 'input:3:1: not valid JSON: unexpected end of file'],
    ['{}', 'must hold a JSON array of posts, not an object'],
  ])('refuses the whole file %j, saying where', (text, message) => {
    expect(() => parseImportFile(text)).toThrow(ImportFileError);
    expect(() => parseImportFile(text)).toThrow(message);
  });

  it('reports every bad record with its number, title, field and reason, and keeps the good ones', () => {
    const text = JSON.stringify([record(), record({ title: 'Bad', created_at: 'yesterday', category: 'Not OK' }), 5, record({ title: 'Flag', published: 'yes' }), record({ id: -1 })]);
    const { records, problems } = parseImportFile(text);
    expect(records.map((r) => r.number)).toEqual([1]);
    expect(describeProblems(problems)).toEqual([
      'record 2 ("Bad"): "category": Lowercase letters, digits and single dashes only (e.g. "web-dev").; "created_at": must be an ISO 8601 date, e.g. "2024-05-01T12:00:00Z"',
      'record 3: "record": expected an object',
      'record 4 ("Flag"): "published": must be true or false',
      'record 5 ("T"): "id": must be a positive whole number',
    ]);
  });

  it('lists at most 20 bad records, then how many more', () => {
    const { problems } = parseImportFile(JSON.stringify(Array.from({ length: 25 }, (_, i) => record({ title: `Post ${i}`, body: '' }))));
    const lines = describeProblems(problems);
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe('record 1 ("Post 0"): "body": The post needs a body.');
    expect(lines[20]).toBe('… and 5 more bad records');
  });

  it('names posts by slug (given, or from the title, repeated titles numbered) and refuses two records naming one post', () => {
    const { records, problems } = parseImportFile(
      JSON.stringify([record({ title: 'Same' }), record({ title: 'Same' }), record({ slug: 'same-2', title: 'Given' }), record({ id: 4 }), record({ id: 4, title: 'Twice' })]),
    );
    expect(records.map((r) => r.slug)).toEqual(['same', 'same-3', 'same-2', undefined]);
    expect(describeProblems(problems)).toEqual(['record 5 ("Twice"): "id": id 4 is also record 4\'s']);
  });
});

describe('planImport() and applyImport()', () => {
  it('create, then find everything unchanged, update what changed, and follow ids', async () => {
    const ds = await openDatabase(`sqlite:${join(dir, 'plan.sqlite')}`);
    try {
      const posts = new PostService(ds);
      await posts.create({ title: 'Existing', body: 'b', category: 'x', published: true });
      const file = [record({ slug: 'custom-slug' }), record({ title: 'Draft', published: false }), record({ title: 'Pinned', id: 40 })];
      const first = await planImport(posts, parseImportFile(JSON.stringify(file)).records);
      expect([first.creates.length, first.replaces.length, first.unchanged]).toEqual([3, 0, 0]);
      const progress: number[] = [];
      await applyImport(posts, first, (done) => progress.push(done));
      expect(progress).toEqual([3]);
      expect((await posts.get(40))?.slug).toBe('pinned');
      expect((await posts.listAll()).find((p) => p.slug === 'custom-slug')?.createdAt.toISOString()).toBe('2025-01-02T03:04:05.000Z');

      const again = await planImport(posts, parseImportFile(JSON.stringify(file)).records);
      expect([again.creates.length, again.replaces.length, again.unchanged]).toEqual([0, 0, 3]);

      file[0] = record({ slug: 'custom-slug', body: 'Changed' });
      file[2] = record({ title: 'Pinned anew', id: 40, slug: 'pinned' });
      const changed = await planImport(posts, parseImportFile(JSON.stringify(file)).records);
      expect([changed.creates.length, changed.replaces.length, changed.unchanged]).toEqual([0, 2, 1]);
      await applyImport(posts, changed);
      expect(await posts.get(40)).toMatchObject({ title: 'Pinned anew', version: 2 });
      expect(await posts.count()).toBe(4);

      const clash = await planImport(posts, parseImportFile(JSON.stringify([record({ id: 40, slug: 'custom-slug' })])).records);
      expect(describeProblems(clash.problems)).toEqual([`record 1 ("T"): "slug": "custom-slug" is post ${(await posts.listAll()).find((p) => p.slug === 'custom-slug')?.id}'s`]);
    } finally {
      await ds.destroy();
    }
  });
});

describe('npm run import', () => {
  it('imports a file once: again it reports 0 new, 300 unchanged; a changed record updates its post; --dry-run writes nothing', async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`, DATA_DIR: dir };
    const dry = await runImport(['--dry-run', postsFile], env);
    expect(dry.stdout).toBe('dry run: would import 300 new, 0 unchanged; nothing written\n');
    expect(existsSync(join(dir, 'cli.sqlite'))).toBe(false);

    const first = await runImport([postsFile], env);
    expect(first.stdout).toMatch(/^imported .*posts\.json: 300 new, 0 unchanged \(/);
    // Not a terminal: a plain final line, no bar redrawn with carriage returns.
    expect(first.stdout).not.toContain('\r');
    expect(first.stdout).toContain('no cache is configured');
    expect((await runImport([postsFile], env)).stdout).toMatch(/: 0 new, 300 unchanged \(/);

    const changed = generatePosts(300, 7);
    changed[5].body += '\n\nAn added paragraph.';
    changed.push({ ...changed[0], slug: 'one-more', title: 'One more' });
    const changedFile = join(dir, 'changed.json');
    writeFileSync(changedFile, JSON.stringify(changed));
    expect((await runImport(['--dry-run', changedFile], env)).stdout).toBe('dry run: would import 1 new, 1 updated, 299 unchanged; nothing written\n');
    expect((await runImport([changedFile], env)).stdout).toMatch(/: 1 new, 1 updated, 299 unchanged \(/);
    const ds = await openDatabase(env.DATABASE_URL);
    const posts = await new PostService(ds).listAll();
    await ds.destroy();
    expect(posts).toHaveLength(301);
    expect(new Set(posts.map((p) => p.slug)).size).toBe(301);
  }, 120_000);

  it('refuses a file with bad records, naming each, and writes nothing', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([record(), record({ title: 'Broken', body: '' }), record({ title: 'Undated', created_at: 5 })]));
    const env = { DATABASE_URL: `sqlite:${join(dir, 'bad.sqlite')}` };
    const result = await runImport([file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        'import: 2 of 3 records cannot be imported; nothing was written:',
        '  record 2 ("Broken"): "body": The post needs a body.',
        '  record 3 ("Undated"): "created_at": must be an ISO 8601 date, e.g. "2024-05-01T12:00:00Z"',
        '',
      ].join('\n'),
    );
    expect(existsSync(join(dir, 'bad.sqlite'))).toBe(false);
  }, 60_000);

  it('says in one plain line what is wrong with a missing file, a folder or malformed JSON', async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'never.sqlite')}` };
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    const malformed = join(dir, 'malformed.json');
    writeFileSync(malformed, '[\n  {"title": "A"}\n  {"title": "B"}\n]\n');
    const cases: [string[], string][] = [
      [[join(dir, 'missing.json')], `import: cannot read ${join(dir, 'missing.json')}: there is no such file\n`],
      [[folder], `import: cannot read ${folder}: it is a directory, not a file\n`],
      [[malformed], `import: ${malformed}:3:3: not valid JSON: expected ',' or ']' after an array element\n`],
      [[], 'import: usage: npm run import -- [--dry-run] FILE.json\n'],
    ];
    for (const [args, stderr] of cases) {
      const result = await runImport(args, env);
      expect([result.code, result.stderr]).toEqual([1, stderr]);
    }
    expect(existsSync(join(dir, 'never.sqlite'))).toBe(false);
  }, 60_000);
});
