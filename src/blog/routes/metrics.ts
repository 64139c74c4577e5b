import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { METRICS_CONTENT_TYPE } from '../../cache/index.ts';
import { isLoopbackClient } from '../../cache/koa/index.ts';
import { tokensEqual } from '../web/csrf.ts';
import { createRouter } from './router.ts';

/** Who may read the metrics: `ok`, `unauthorized` (a token is configured but not sent), or `hidden`. */
export type MetricsAccess = 'ok' | 'unauthorized' | 'hidden';

/**
 * Decides access to /metrics: a loopback client (not relayed by an untrusted proxy) always; anyone
 * with `Authorization: Bearer <METRICS_TOKEN>`; otherwise `unauthorized` (401) when a token is
 * configured, so a misconfigured scraper sees why, and `hidden` (404) when none is, so the
 * endpoint does not exist for the outside world.
 */
export function metricsAccess(ctx: Context, token: string | undefined): MetricsAccess {
  if (isLoopbackClient(ctx)) return 'ok';
  if (token === undefined) return 'hidden';
  const sent = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('Authorization'))?.[1];
  return sent !== undefined && tokensEqual(sent, token) ? 'ok' : 'unauthorized';
}

/** What the route writes: this process's metrics, or the whole cluster's (src/fleet-metrics.ts). */
export interface MetricsText {
  render(): Promise<string>;
}

/**
 * `GET /metrics`: the Prometheus text exposition, guarded by {@link metricsAccess}; 503 when the
 * numbers cannot be had (a cluster primary that does not answer), since a partial sum would
 * look like a counter reset.
 */
export function metricsRoutes(options: { metrics: MetricsText; token?: string }): Router {
  const router = createRouter();
  router.get('/metrics', async (ctx) => {
    const access = metricsAccess(ctx, options.token);
    if (access === 'hidden') {
      ctx.status = 404;
      return;
    }
    if (access === 'unauthorized') {
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.status = 401;
      ctx.type = 'text';
      ctx.body = 'A bearer token is required.\n';
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    let text: string;
    try {
      text = await options.metrics.render();
    } catch (err) {
      ctx.status = 503;
      ctx.type = 'text';
      ctx.body = `Metrics are unavailable: ${err instanceof Error ? err.message : String(err)}\n`;
      return;
    }
    ctx.set('Content-Type', METRICS_CONTENT_TYPE);
    ctx.body = text;
  });
  return router;
}
