import type { PageCacheStatus } from './page-cache/decide.ts';
import type { RequestReport, RequestReporter } from './request-frame.ts';

/**
 * What {@link metricsReporter} counts into: the request and page cache counters of
 * `CacheMetrics` (metrics.ts), described by shape so this file needs nothing from it.
 */
export interface RequestMetrics {
  /** Counts one finished request; `route` is a pattern, never a raw path. */
  recordRequest(request: { method: string; route: string; status: number; durationMs: number }): void;
  /** Counts what the page cache did for one request. */
  recordPage(result: PageCacheStatus): void;
}

/**
 * A request reporter that counts every response the request frame reports (early answers
 * included) by method, route pattern and status, its duration, and the page cache's status (not
 * its reason, which would multiply the series).
 *
 * @example
 * app.use(requestFrame({ headers, reporters: [metricsReporter(metrics)] }));
 */
export function metricsReporter(metrics: RequestMetrics): RequestReporter {
  return {
    report(report: RequestReport): void {
      metrics.recordRequest(report);
      if (report.pageCache !== undefined) metrics.recordPage(report.pageCache.status);
    },
  };
}
