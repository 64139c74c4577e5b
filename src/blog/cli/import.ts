import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { DataSource } from 'typeorm';
import { createCache, type Cache, type CacheType } from '../../cache/index.ts';
import { ConfigError, loadConfig, type Config } from '../../config.ts';
import { openDatabase } from '../db.ts';
import { applyImport } from '../import/apply.ts';
import { NO_POSTS, planImport, type ImportPlan } from '../import/plan.ts';
import { describeProblems, parseImportFile, type ImportRecord, type RecordProblem } from '../import/records.ts';
import type { Logger } from '../../log.ts';
import type { CacheOutbox } from '../services/outbox.ts';
import { wirePostWrites } from '../writes.ts';
import { ProgressBar } from './progress.ts';

const USAGE = 'usage: npm run import -- [--dry-run] FILE.json';
/** How long the command waits for a running server to take changes it could not invalidate itself. */
const HANDOVER_WAIT_MS = 3000;

/** A failure the command reports as plain lines (no stack), then exits 1. */
class Refused extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/**
 * `npm run import -- [--dry-run] FILE.json`: imports posts into the configured database. Records
 * name their posts (by `id`, else slug), so importing a file again changes only what changed.
 * Writes go through PostService like the author's, so readers of a running Kiln see them: the
 * command invalidates through the configured cache, or, when it cannot reach it (the memory
 * cache lives inside the server), leaves the invalidations in the outbox for the server's sweep.
 */
async function main(args: string[]): Promise<void> {
  const dryRun = args.includes('--dry-run');
  const files = args.filter((arg) => arg !== '--dry-run');
  if (files.length !== 1 || files[0].startsWith('-')) throw new Refused([USAGE]);
  const file = files[0];
  const { records, problems } = parseImportFile(await readImportFile(file), file);
  const total = records.length + countRecords(problems);
  refuseProblems(problems, total);
  const config = loadConfig();

  if (dryRun) {
    const plan = await planWithoutWriting(config.databaseUrl, records);
    refuseProblems(plan.problems, total);
    process.stdout.write(`dry run: would import ${counts(plan)}; nothing written\n`);
    return;
  }

  const ds = await openDatabase(config.databaseUrl);
  let cache: Cache | null = null;
  try {
    cache = await cacheOf(config);
    const { posts, outbox } = wirePostWrites(ds, { cache, logger: quietLogger() });
    const plan = await planImport(posts, records);
    refuseProblems(plan.problems, total);
    const started = performance.now();
    const bar = new ProgressBar(process.stdout, 'importing', plan.creates.length + plan.replaces.length);
    try {
      await applyImport(posts, plan, (done) => bar.update(done));
    } finally {
      bar.clear();
    }
    const seconds = (performance.now() - started) / 1000;
    const written = plan.creates.length + plan.replaces.length;
    const rate = written > 0 && seconds > 0 ? `, ${Math.round(written / seconds)} posts/s` : '';
    process.stdout.write(`imported ${file}: ${counts(plan)} (${seconds.toFixed(1)} s${rate})\n`);
    if (written > 0) process.stdout.write(`${await freshness(config.cache.type, outbox, cache === null)}\n`);
  } finally {
    await Promise.allSettled([cache?.close()]);
    await ds.destroy();
  }
}

/** The file's text; a missing file, a directory or an unreadable file is one plain line. */
async function readImportFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    const reason =
      code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a directory, not a file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    throw new Refused([`cannot read ${file}: ${reason}`]);
  }
}

function refuseProblems(problems: readonly RecordProblem[], total: number): void {
  if (problems.length === 0) return;
  const bad = countRecords(problems);
  throw new Refused([`${bad} of ${total} records cannot be imported; nothing was written:`, ...describeProblems(problems).map((line) => `  ${line}`)]);
}

function countRecords(problems: readonly RecordProblem[]): number {
  return new Set(problems.map((p) => p.number)).size;
}

function counts(plan: ImportPlan): string {
  const updated = plan.replaces.length > 0 ? `${plan.replaces.length} updated, ` : '';
  return `${plan.creates.length} new, ${updated}${plan.unchanged} unchanged`;
}

/** A dry run reads the database without migrating or creating it; one not created yet has no posts. */
async function planWithoutWriting(databaseUrl: string, records: readonly ImportRecord[]): Promise<ImportPlan> {
  const sqliteFile = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : undefined;
  if (sqliteFile !== undefined && (sqliteFile === ':memory:' || !existsSync(sqliteFile))) return planImport(NO_POSTS, records);
  const ds = await openDatabase(databaseUrl, { migrate: false });
  try {
    if (!(await hasPostTable(ds))) return planImport(NO_POSTS, records);
    const { posts } = wirePostWrites(ds, { cache: null, logger: quietLogger() });
    return await planImport(posts, records);
  } finally {
    await ds.destroy();
  }
}

async function hasPostTable(ds: DataSource): Promise<boolean> {
  const runner = ds.createQueryRunner();
  try {
    return await runner.hasTable('post');
  } finally {
    await runner.release();
  }
}

/**
 * The cache this command can invalidate readers' pages in: the configured one, except the
 * memory cache, which lives inside the server process (its changes are left for its sweep).
 */
async function cacheOf(config: Config): Promise<Cache | null> {
  if (config.cache.type === 'memory') return null;
  return createCache(config.cache, { logger: quietLogger() });
}

/**
 * One line: whether readers of a running Kiln see the changes, and what to do if not. Waits up to
 * 3 s for what is still in the outbox: taken by a running server's sweep (`leftForServer`: the
 * memory cache), or delivered again from here (a cache that failed a moment, e.g. a Redis command
 * timing out on a busy machine).
 */
async function freshness(type: CacheType, outbox: CacheOutbox, leftForServer: boolean): Promise<string> {
  const deadline = Date.now() + HANDOVER_WAIT_MS;
  while ((await outbox.undelivered()) > 0 && Date.now() < deadline) {
    if (!leftForServer) await outbox.sweep();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const delivered = (await outbox.undelivered()) === 0;
  if (leftForServer) {
    return delivered
      ? 'the running Kiln took the changes (memory cache): readers see them on their next request'
      : 'the memory cache lives inside the server: no running Kiln took the changes within 3 s; a Kiln started on this database applies them before it serves';
  }
  if (!delivered) {
    return `warning: the ${type} cache could not be reached, so readers may see old pages until a running Kiln reaches it (it replays the invalidations within 2 s) or you run npm run cache:clear`;
  }
  return type === 'null' ? 'no cache is configured (CACHE_TYPE=null): readers see the changes at once' : `the ${type} cache is invalidated: readers see the changes on their next request`;
}

/** The cache's own warnings would repeat for every batch; the command sums them up in one line. */
function quietLogger(): Logger {
  return { info: () => {}, warn: () => {}, error: () => {} };
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const lines =
    error instanceof Refused
      ? error.lines
      : error instanceof ConfigError
        ? [`bad configuration: ${error.message}`]
        : [error instanceof Error ? error.message : String(error)];
  process.stderr.write(`import: ${lines.join('\n')}\n`);
  process.exitCode = 1;
});
