import { DataSource } from 'typeorm';
import { SQLITE_PRAGMAS, dataSourceOptions } from '../../ormconfig.ts';

/** Opens the database, runs pending migrations, and checks SQLite's durability settings. */
export async function openDatabase(databaseUrl: string): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptions(databaseUrl));
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
    if (ds.options.type === 'better-sqlite3') await assertDurable(ds);
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  return ds;
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
