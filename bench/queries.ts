import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/blog/db.ts';
import { PostService } from '../src/blog/services/posts.ts';
import { prepareDatabase } from './servers.ts';

/**
 * `npx tsx bench/queries.ts [RUNS]` (default 2,000): the database work of an uncached index page,
 * query by query, through `PostService` on a fresh SQLite database with the 300 benchmark posts:
 * the listing (ten posts and the count), and the sidebar's categories and five latest posts;
 * then statements straight through better-sqlite3: the categories with their covering index and
 * `NOT INDEXED` (a scan of the rows, as before the index), the latest posts as full rows and as
 * ids and titles. Prints µs per call, after a warm-up.
 */

/** The prepared-statement part of better-sqlite3 this script uses. */
interface RawDatabase {
  prepare(sql: string): { all(): unknown[] };
}

async function main(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-queries-'));
  try {
    const dataSource = await openDatabase(`sqlite:${await prepareDatabase(dir)}`);
    const posts = new PostService(dataSource);
    const calls: [string, () => Promise<unknown>][] = [
      ['listPublished (10 posts + count)', () => posts.listPublished({ page: 1 })],
      ['categories (sidebar)', () => posts.categories()],
      ['latest(5) (sidebar)', () => posts.latest(5)],
    ];
    const raw = Reflect.get(dataSource.driver, 'databaseConnection') as RawDatabase;
    const statement = (sql: string) => {
      const prepared = raw.prepare(sql);
      return async () => prepared.all();
    };
    const newest = 'FROM post WHERE published = 1 ORDER BY created_at DESC, id DESC LIMIT 5';
    const categories = 'SELECT category AS name, COUNT(*) AS count FROM post INDEXING WHERE published = 1 GROUP BY category ORDER BY category';
    calls.push(
      ['SQL categories (covering index)', statement(categories.replace('INDEXING', ''))],
      ['SQL categories NOT INDEXED', statement(categories.replace('INDEXING', 'NOT INDEXED'))],
      ['SQL latest id, title', statement(`SELECT id, title ${newest}`)],
      ['SQL latest full rows', statement(`SELECT * ${newest}`)],
    );
    for (const [name, call] of calls) {
      for (let i = 0; i < Math.min(200, runs); i++) await call();
      const start = performance.now();
      for (let i = 0; i < runs; i++) await call();
      process.stdout.write(`${name.padEnd(34)} ${(((performance.now() - start) / runs) * 1000).toFixed(0).padStart(5)} µs\n`);
    }
    await dataSource.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(Number(process.argv[2] ?? 2000)).catch((error: unknown) => {
  process.stderr.write(`queries failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
