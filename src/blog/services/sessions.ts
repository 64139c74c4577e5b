import type { DataSource, Repository } from 'typeorm';
import { LessThan } from 'typeorm';
import { systemClock, type Clock } from '../../cache/index.ts';
import { SessionEntity, type SessionRow } from '../entities/session.ts';

/** Session data as koa-session hands it over. */
export type SessionData = Record<string, unknown>;

/** Sessions without a maxAge ("session" cookies) still end on the server after a day. */
export const DEFAULT_SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * koa-session's external store, shared by every Kiln process: the cookie carries only an id, so
 * destroying the stored session (logout) makes every copy of the cookie useless everywhere.
 * Every store passes the contract suite in test/blog/services/session-store-contract.ts.
 */
export interface SessionStore {
  /** The session stored under `id`, or undefined when absent or expired (by the store's clock). */
  get(id: string): Promise<SessionData | undefined>;
  /** Stores a session for `maxAge` milliseconds; 'session', 0 or none means a day. Replaces any previous data. */
  set(id: string, data: SessionData, maxAge?: number | 'session'): Promise<void>;
  /** Removes the session; absent ids are fine. */
  destroy(id: string): Promise<void>;
  /** Releases what the store itself opened (never the caller's DataSource). */
  close(): Promise<void>;
}

/** The lifetime `set()` gives a session, in milliseconds. */
export function sessionTtl(maxAge: number | 'session' | undefined): number {
  return typeof maxAge === 'number' && maxAge > 0 ? maxAge : DEFAULT_SESSION_TTL_MS;
}

/** Sessions in the database's `session` table (SQLite or PostgreSQL). */
export class DatabaseSessionStore implements SessionStore {
  private readonly repo: Repository<SessionRow>;

  constructor(
    ds: DataSource,
    private readonly clock: Clock = systemClock,
  ) {
    this.repo = ds.getRepository(SessionEntity);
  }

  /** The session stored under `id`, or undefined when absent or expired. */
  async get(id: string): Promise<SessionData | undefined> {
    const row = await this.repo.findOneBy({ id });
    if (row === null) return undefined;
    if (row.expiresAt <= this.clock.now()) {
      await this.repo.delete({ id });
      return undefined;
    }
    try {
      return JSON.parse(row.data) as SessionData;
    } catch {
      return undefined;
    }
  }

  /** Stores a session for `maxAge` milliseconds (koa-session passes a number or 'session'). */
  async set(id: string, data: SessionData, maxAge?: number | 'session'): Promise<void> {
    await this.repo.upsert({ id, data: JSON.stringify(data), expiresAt: this.clock.now() + sessionTtl(maxAge) }, ['id']);
  }

  /** Removes the session; its cookie no longer authenticates anyone. */
  async destroy(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  /** Nothing to release: the DataSource belongs to the caller. */
  async close(): Promise<void> {}

  /** Deletes expired sessions; returns how many. */
  async prune(): Promise<number> {
    const result = await this.repo.delete({ expiresAt: LessThan(this.clock.now()) });
    return result.affected ?? 0;
  }
}
