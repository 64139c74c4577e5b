import type { DataSource } from 'typeorm';
import type { Clock } from '../../cache/types.ts';
import type { SessionConfig } from '../../config.ts';
import type { Logger } from '../seed.ts';
import { RedisSessionStore } from './redis-sessions.ts';
import { DatabaseSessionStore, type SessionStore } from './sessions.ts';

/** The store `SESSION_STORE` names: the database's `session` table (default) or Redis. */
export function createSessionStore(
  config: SessionConfig,
  deps: { dataSource: DataSource; clock?: Clock; logger?: Logger },
): SessionStore {
  if (config.store === 'redis') {
    return new RedisSessionStore({ url: config.redisUrl, prefix: config.redisPrefix, clock: deps.clock, logger: deps.logger });
  }
  return new DatabaseSessionStore(deps.dataSource, deps.clock);
}
