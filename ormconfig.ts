import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ListingCountEntity, ListingDayCountEntity, OutboxEntity, PostEntity, SessionEntity, UserEntity } from './src/blog/entities/index.ts';
import { SQLITE_LOWER_FUNCTION } from './src/blog/services/author-list.ts';
import { migrations } from './src/blog/migrations/index.ts';

/**
 * SQLite settings that make an acknowledged write durable: WAL journal, a full fsync on every
 * commit, and a busy timeout so a concurrent writer waits instead of failing.
 */
export const SQLITE_PRAGMAS = { journal_mode: 'wal', synchronous: 2 /* FULL */, busy_timeout: 5000 } as const;

/** The part of a better-sqlite3 connection set up when it opens. */
interface SqliteConnection {
  pragma(source: string): unknown;
  function(name: string, options: { deterministic: boolean }, fn: (text: unknown) => unknown): unknown;
}

/** TypeORM options for a `sqlite:FILE` or `postgres://…[?schema=NAME]` URL; used by the app and the TypeORM CLI. */
export function dataSourceOptions(databaseUrl: string): DataSourceOptions {
  const common = { entities: [PostEntity, UserEntity, SessionEntity, OutboxEntity, ListingCountEntity, ListingDayCountEntity], migrations, migrationsRun: false };
  if (databaseUrl.startsWith('postgres')) {
    // `?schema=NAME` is Kiln's, not the driver's: TypeORM qualifies every table with it, and the
    // search_path makes raw SQL see the same tables.
    const url = new URL(databaseUrl);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    if (schema !== undefined && !/^[A-Za-z_]\w{0,62}$/.test(schema)) throw new Error('DATABASE_URL: schema= must be a plain identifier');
    const extra = schema === undefined ? {} : { options: `-c search_path=${schema}` };
    return { type: 'postgres', url: url.href, schema, extra, ...common };
  }
  const database = databaseUrl.replace(/^sqlite:/, '');
  if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true });
  return {
    type: 'better-sqlite3',
    database,
    ...common,
    prepareDatabase: (db: SqliteConnection) => {
      db.pragma(`journal_mode = ${SQLITE_PRAGMAS.journal_mode}`);
      db.pragma(`synchronous = ${SQLITE_PRAGMAS.synchronous}`);
      db.pragma(`busy_timeout = ${SQLITE_PRAGMAS.busy_timeout}`);
      // Unicode-aware lower case for the author's title search (src/blog/services/author-list.ts).
      db.function(SQLITE_LOWER_FUNCTION, { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
    },
  };
}

/** The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:run`). */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL ?? 'sqlite:data/kiln.sqlite'));
