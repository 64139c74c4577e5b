import type { DataSource } from 'typeorm';
import type { Clock } from '../../cache/index.ts';
import type { SessionConfig } from '../../config.ts';
import type { Logger } from '../../log.ts';
import { DatabaseLoginAttempts, type LoginAttemptStore } from './login-attempts.ts';
import { RedisLoginAttempts } from './redis-login-attempts.ts';
import { RedisSessionStore } from './redis-sessions.ts';
import { DatabaseSessionStore, type SessionStore } from './sessions.ts';

/** What the stores chosen by `SESSION_STORE` are built on. */
export interface StoreDeps {
  dataSource: DataSource;
  clock?: Clock;
  logger?: Logger;
}

/** The store `SESSION_STORE` names: the database's `session` table (default) or Redis. */
export function createSessionStore(config: SessionConfig, deps: StoreDeps): SessionStore {
  if (config.store === 'redis') {
    return new RedisSessionStore({ url: config.redisUrl, prefix: config.redisPrefix, clock: deps.clock, logger: deps.logger });
  }
  return new DatabaseSessionStore(deps.dataSource, deps.clock);
}

/** Redis keys of the login throttle: beside the sessions, never mistaken for one (session ids have no `:`). */
export const LOGIN_ATTEMPTS_KEY_INFIX = 'login-attempts:';

/**
 * Where the login throttle counts, beside the sessions: the database's `login_attempt` table, or
 * Redis under `SESSION_REDIS_PREFIX` + `login-attempts:`. Every process that shares the sessions
 * shares the count.
 */
export function createLoginAttemptStore(config: SessionConfig, deps: StoreDeps): LoginAttemptStore {
  if (config.store === 'redis') {
    return new RedisLoginAttempts({
      url: config.redisUrl,
      prefix: config.redisPrefix + LOGIN_ATTEMPTS_KEY_INFIX,
      clock: deps.clock,
      logger: deps.logger,
    });
  }
  return new DatabaseLoginAttempts(deps.dataSource, { clock: deps.clock, logger: deps.logger });
}
