import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';

const queues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs `work` after every earlier exclusive task on the same SQLite database in this process
 * (at once on PostgreSQL). TypeORM's SQLite driver has one connection: a second transaction
 * started while one is open becomes a savepoint inside it (a rollback of either undoes both),
 * and a statement sent meanwhile sees its uncommitted rows.
 */
export function exclusive<T>(ds: DataSource, work: () => Promise<T>): Promise<T> {
  if (ds.options.type !== 'better-sqlite3') return work();
  const run = (queues.get(ds) ?? Promise.resolve()).then(work);
  queues.set(
    ds,
    run.catch(() => undefined),
  );
  return run;
}

/** Runs `work` in one database transaction, one at a time per SQLite database (see {@link exclusive}). */
export function writeTransaction<T>(ds: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return exclusive(ds, () => ds.transaction(work));
}

/** Whether `error` is a unique-index violation (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driver: unknown = error.driverError;
  const code = typeof driver === 'object' && driver !== null && 'code' in driver ? driver.code : undefined;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
