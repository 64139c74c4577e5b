import type { DataSource } from 'typeorm';
import { systemClock, type Clock } from '../../cache/index.ts';
import type { Logger } from '../../log.ts';

/** A client's attempts in its current window, as {@link LoginAttemptStore.hit} returns them. */
export interface AttemptCount {
  /** Attempts in the window, the one just counted included (1 for the first). */
  count: number;
  /** When the window ends, in milliseconds since the epoch on the store's clock. */
  resetAt: number;
}

/**
 * Counts login attempts per client in fixed windows, in storage that every Kiln process shares.
 * Counting and reading the count are one atomic step, so attempts that arrive together each see
 * all those before them: of N at once, exactly one sees each count from 1 to N. Every store
 * passes test/blog/services/login-attempt-contract.ts.
 */
export interface LoginAttemptStore {
  /**
   * Counts one attempt by `client` and returns the count in its window. A window starts at a
   * client's first attempt (or the first after the previous window ended) and lasts `windowMs`.
   */
  hit(client: string, windowMs: number): Promise<AttemptCount>;
  /** Forgets `client`'s attempts; its next one starts a new window. */
  reset(client: string): Promise<void>;
  /** Releases what the store itself opened (never the caller's DataSource). */
  close(): Promise<void>;
}

/** Longest client key stored (the column is `varchar(100)`); canonical addresses are far shorter. */
export const CLIENT_KEY_MAX = 100;

/** Options of {@link DatabaseLoginAttempts}. */
export interface DatabaseLoginAttemptsOptions {
  clock?: Clock;
  /** Where a failed clean-up is reported (default the console). */
  logger?: Logger;
  /** Expired rows are deleted at most this often, during a `hit()`, in milliseconds (default 10 minutes). */
  pruneEveryMs?: number;
}

// One statement, so SQLite and PostgreSQL each apply it atomically to the client's row (PostgreSQL
// locks the row for concurrent upserts; SQLite has one writer at a time).
const HIT_SQL = `
  INSERT INTO login_attempt AS a (client, attempts, expires_at) VALUES (:client, 1, :expiresAt)
  ON CONFLICT (client) DO UPDATE SET
    attempts = CASE WHEN a.expires_at <= :now THEN 1 ELSE a.attempts + 1 END,
    expires_at = CASE WHEN a.expires_at <= :now THEN :expiresAt ELSE a.expires_at END
  RETURNING attempts, expires_at`;

/**
 * Attempts in the database's `login_attempt` table (SQLite or PostgreSQL), one row per client.
 * Rows whose window has ended are deleted now and then, so a spray of addresses cannot grow the
 * table beyond the clients of the last window or two.
 */
export class DatabaseLoginAttempts implements LoginAttemptStore {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pruneEveryMs: number;
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ds: DataSource,
    options: DatabaseLoginAttemptsOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? console;
    this.pruneEveryMs = options.pruneEveryMs ?? 10 * 60 * 1000;
  }

  /** Counts one attempt by `client` (an upsert that returns the new count). */
  async hit(client: string, windowMs: number): Promise<AttemptCount> {
    const now = this.clock.now();
    const [sql, params] = this.ds.driver.escapeQueryWithParameters(HIT_SQL, { client: client.slice(0, CLIENT_KEY_MAX), now, expiresAt: now + windowMs });
    const rows: { attempts: number | string; expires_at: number | string }[] = await this.ds.query(sql, params);
    if (now - this.lastPrune >= this.pruneEveryMs) await this.pruneQuietly(now);
    return { count: Number(rows[0].attempts), resetAt: Number(rows[0].expires_at) };
  }

  /** Deletes `client`'s row. */
  async reset(client: string): Promise<void> {
    await this.ds.createQueryBuilder().delete().from('login_attempt').where('client = :client', { client: client.slice(0, CLIENT_KEY_MAX) }).execute();
  }

  /** Deletes the rows whose window has ended; returns how many. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    this.lastPrune = now;
    const result = await this.ds.createQueryBuilder().delete().from('login_attempt').where('expires_at <= :now', { now }).execute();
    return result.affected ?? 0;
  }

  /** Nothing to release: the DataSource belongs to the caller. */
  async close(): Promise<void> {}

  // A clean-up that fails costs only some rows kept longer: the login goes on.
  private async pruneQuietly(now: number): Promise<void> {
    this.lastPrune = now;
    await this.prune().catch((err: unknown) => {
      this.logger.warn(`login attempts: could not delete expired rows (${err instanceof Error ? err.message : String(err)})`);
    });
  }
}
