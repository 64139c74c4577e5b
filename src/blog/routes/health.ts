import type { Router } from '@koa/router';
import type { DataSource } from 'typeorm';
import { HEALTH_PROBE_KEY, type Cache } from '../../cache/index.ts';
import { createRouter } from './router.ts';

/** What `GET /healthz` answers. */
export interface Health {
  /** `ok`; `degraded` while the cache fails (pages are still served, uncached); `down` without a database. */
  status: 'ok' | 'degraded' | 'down';
  /** The cache's health after a probe. */
  cache: 'ok' | 'degraded';
  /** Whether the database answers a trivial query. */
  database: 'ok' | 'error';
}

/**
 * Checks both dependencies now: one cache lookup (bounded by the backend's command timeout, or
 * refused at once by an open breaker; it counts as one direct miss) and `SELECT 1`. A cache
 * that is down at boot is thus reported before any reader has met it.
 */
export async function checkHealth(cache: Cache, dataSource: DataSource): Promise<Health> {
  await cache.has(HEALTH_PROBE_KEY, { detail: 'healthz' });
  let database: Health['database'] = 'ok';
  try {
    await dataSource.query('SELECT 1');
  } catch {
    database = 'error';
  }
  const cacheHealth = cache.health();
  const status = database !== 'ok' ? 'down' : cacheHealth === 'ok' ? 'ok' : 'degraded';
  return { status, cache: cacheHealth, database };
}

/**
 * `GET /healthz`: 200 with {@link Health} while the blog can serve pages (a degraded cache
 * included), 503 when the database does not answer. Never cached, by us or by anyone between.
 */
export function healthRoutes(options: { cache: Cache; dataSource: DataSource }): Router {
  const router = createRouter();
  router.get('healthz', '/healthz', async (ctx) => {
    const health = await checkHealth(options.cache, options.dataSource);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = health.status === 'down' ? 503 : 200;
    ctx.body = health;
  });
  return router;
}
