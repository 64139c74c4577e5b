import type { Context } from 'koa';
import type { CacheMetrics } from '../../cache/metrics.ts';
import type { PreparedPagesOptions } from '../../cache/koa/page-cache/prepared-pages.ts';
import type { Config } from '../../config.ts';
import { securityHeadersFor } from './security-headers.ts';
import { SESSION_COOKIE } from './session.ts';

/**
 * Whether a request may carry a session: it sends Kiln's session cookie (valid or not). Only
 * such a request can turn out to be the author's, so every other one is a reader.
 */
export function mayHaveSession(ctx: Context): boolean {
  return (ctx.get('Cookie') ?? '').includes(`${SESSION_COOKIE}=`);
}

/**
 * The blog's early answers (src/cache/koa/page-cache/prepared-pages.ts): pages readers were
 * served are answered again, before sessions, CSRF and routing run, to requests without a session
 * cookie; with the security headers every response carries, and counted in /metrics like any
 * request. Off (undefined) when the dev toolbar is on, because every page then needs its bar
 * injected.
 */
export function pageFront(config: Config, metrics: CacheMetrics): PreparedPagesOptions | undefined {
  if (config.toolbar.enabled) return undefined;
  return {
    eligible: (ctx) => !mayHaveSession(ctx),
    headers: securityHeadersFor(config.siteUrl),
    onServe: (ctx, served) => {
      metrics.recordRequest({ method: ctx.method, route: served.route ?? 'unmatched', status: served.status, durationMs: served.durationMs });
      metrics.recordPage('HIT');
    },
  };
}
