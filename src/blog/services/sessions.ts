import type { DataSource, Repository } from 'typeorm';
import { LessThan } from 'typeorm';
import { systemClock, type Clock } from '../../cache/types.ts';
import { SessionEntity, type SessionRow } from '../entities/session.ts';

/** Session data as koa-session hands it over. */
export type SessionData = Record<string, unknown>;

// Sessions without a maxAge ("session" cookies) still end on the server after a day.
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * koa-session's external store, kept in the database: the cookie carries only an id, so
 * destroying the row (logout) makes every copy of the cookie useless.
 */
export class SessionStore {
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
    const ttl = typeof maxAge === 'number' && maxAge > 0 ? maxAge : DEFAULT_TTL_MS;
    await this.repo.upsert({ id, data: JSON.stringify(data), expiresAt: this.clock.now() + ttl }, ['id']);
  }

  /** Removes the session; its cookie no longer authenticates anyone. */
  async destroy(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  /** Deletes expired sessions; returns how many. */
  async prune(): Promise<number> {
    const result = await this.repo.delete({ expiresAt: LessThan(this.clock.now()) });
    return result.affected ?? 0;
  }
}
