import { DataSource } from 'typeorm';
import { SQLITE_PRAGMAS, dataSourceOptions } from '../../ormconfig.ts';
import { missingListingTriggers } from './migrations/1700000000006-posts-at-scale.ts';

/**
 * Opens the database (SQLite or PostgreSQL), runs pending migrations unless `migrate` is false
 * (worker processes: their primary has run them) and then checks that the listing counts are
 * kept, and checks SQLite's durability settings.
 */
export async function openDatabase(databaseUrl: string, options: { migrate?: boolean } = {}): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptions(databaseUrl));
  await ds.initialize();
  try {
    if (options.migrate !== false) {
      if (ds.options.type === 'postgres') await migratePostgres(ds);
      else await ds.runMigrations({ transaction: 'each' });
      await assertListingTriggers(ds);
    }
    if (ds.options.type === 'better-sqlite3') await assertDurable(ds);
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  return ds;
}

/**
 * Runs the migrations under a PostgreSQL advisory lock, so hosts starting at the same moment
 * migrate one after another (the later ones find nothing to do) instead of racing.
 */
async function migratePostgres(ds: DataSource): Promise<void> {
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    const schema = ds.options.type === 'postgres' ? ds.options.schema : undefined;
    // One lock per schema, so unrelated blogs (and test apps) on one server do not wait for each other.
    const key = `kiln migrations ${schema ?? ''}`;
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      if (schema !== undefined) await ds.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    }
  } finally {
    await lock.release();
  }
}

/** Refuses to run with listing counts that writes would no longer keep (see the PostsAtScale migration). */
async function assertListingTriggers(ds: DataSource): Promise<void> {
  const missing = await missingListingTriggers(ds);
  if (missing.length > 0) {
    throw new Error(`the post table lacks the triggers that keep the listing counts (${missing.join(', ')}); a migration that rebuilt it must create them again`);
  }
}

/** Refuses to run on a SQLite connection that could lose an acknowledged write. */
async function assertDurable(ds: DataSource): Promise<void> {
  const [journal] = await ds.query('PRAGMA journal_mode');
  const [sync] = await ds.query('PRAGMA synchronous');
  const [busy] = await ds.query('PRAGMA busy_timeout');
  const problems: string[] = [];
  if (String(journal.journal_mode).toLowerCase() !== SQLITE_PRAGMAS.journal_mode) problems.push(`journal_mode=${journal.journal_mode}`);
  if (Number(sync.synchronous) !== SQLITE_PRAGMAS.synchronous) problems.push(`synchronous=${sync.synchronous}`);
  if (!(Number(busy.timeout) > 0)) problems.push(`busy_timeout=${busy.timeout}`);
  if (problems.length > 0) {
    throw new Error(`SQLite is not durable (${problems.join(', ')}); refusing to start`);
  }
}
