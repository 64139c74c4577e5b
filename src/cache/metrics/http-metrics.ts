import type { Context, Next } from 'koa';
import { now } from '../telemetry.ts';
import type { CacheMetrics } from './cache-metrics.ts';

/** The route pattern @koa/router matched for this request (e.g. `/posts/:id`), if any. */
export function matchedRoute(ctx: Context): string | undefined {
  const route: unknown = Reflect.get(ctx, '_matchedRoute');
  return typeof route === 'string' ? route : undefined;
}

/** Options of {@link httpMetrics}. */
export interface HttpMetricsOptions {
  /** The route label of a request (default: the matched route pattern, else `unmatched`). */
  route?: (ctx: Context) => string;
}

/**
 * Counts every request by method, route pattern and final status, its duration, and the page
 * cache's result (`ctx.state.cacheStatus`), through `metrics.requestReporter()`. Mount it outside
 * the error handler so it sees the status that was sent; an error escaping the chain is counted
 * as a 500. Kept until the request frame reports every response itself.
 */
export function httpMetrics(metrics: CacheMetrics, options: HttpMetricsOptions = {}) {
  const routeOf = options.route ?? ((ctx: Context) => matchedRoute(ctx) ?? 'unmatched');
  const reporter = metrics.requestReporter();
  return async function httpMetrics(ctx: Context, next: Next): Promise<void> {
    const start = now();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } finally {
      const page = ctx.state.cacheStatus;
      reporter.report({
        method: ctx.method,
        path: ctx.path,
        status,
        durationMs: now() - start,
        route: routeOf(ctx),
        bytes: undefined,
        pageCache: page === undefined ? undefined : { status: page },
        early: false,
      });
    }
  };
}
