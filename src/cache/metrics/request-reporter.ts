import type { PageCacheStatus } from '../types.ts';
import { Counter, Histogram, type CounterSeries, type HistogramSeries } from './registry.ts';

/** What every finished response is reported as, early page answers included (metrics, access log). */
export interface RequestReport {
  method: string;
  /** The request path, for logs; never a metric label (one series per URL would be unbounded). */
  path: string;
  status: number;
  durationMs: number;
  /** Route pattern (`/posts/:id`), never a raw path; `unmatched` when no route matched. */
  route: string;
  /** Body bytes written, when known. */
  bytes: number | undefined;
  /** What the page cache did, for requests to cached routes. */
  pageCache: { readonly status: PageCacheStatus } | undefined;
  /** Answered before the middleware chain ran. */
  early: boolean;
  /** The request id sent as `X-Request-Id`, when the request frame gives ids. */
  requestId?: string;
}

/** Something told of every finished response: metrics, an access log. */
export interface RequestReporter {
  report(report: RequestReport): void;
}

/** Upper bounds of the HTTP request duration buckets, in seconds. */
export const HTTP_LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods counted under their own name; any other is `other`, so a client cannot add series. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const PAGE_RESULTS: readonly PageCacheStatus[] = ['HIT', 'MISS', 'BYPASS', 'STALE'];

/** The series of one route, bound on its first request. */
interface RouteSeries {
  latency: HistogramSeries;
  /** By method, then status. */
  requests: Map<string, Map<number, CounterSeries>>;
}

/**
 * The HTTP families of the metrics: requests by method, route pattern and status, their
 * duration by route, and what the page cache did. Series are bound once per route, method and
 * status, so reporting a request builds no label text.
 */
export class RequestMetrics implements RequestReporter {
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly pages: Counter;
  private readonly routes = new Map<string, RouteSeries>();
  private readonly pageSeries: ReadonlyMap<PageCacheStatus, CounterSeries>;

  constructor(prefix: string) {
    this.pages = new Counter(`${prefix}page_cache_results_total`, 'What the page cache did for requests to cached routes (X-Cache).');
    this.requests = new Counter(`${prefix}http_requests_total`, 'HTTP requests by method, route pattern and status.');
    this.latency = new Histogram(`${prefix}http_request_duration_seconds`, 'HTTP request duration by route pattern.', HTTP_LATENCY_BUCKETS);
    this.pageSeries = new Map(PAGE_RESULTS.map((result) => [result, this.pages.series({ result })]));
    // Every result is exposed from the start, at 0, so a rate over it is defined before the first hit.
    for (const series of this.pageSeries.values()) series.inc(0);
  }

  /** Counts one finished request and what the page cache did for it. */
  report(report: RequestReport): void {
    const method = METHODS.has(report.method) ? report.method : 'other';
    const route = this.routeSeries(report.route);
    let byStatus = route.requests.get(method);
    if (byStatus === undefined) route.requests.set(method, (byStatus = new Map()));
    let requests = byStatus.get(report.status);
    if (requests === undefined) {
      requests = this.requests.series({ method, route: report.route, status: String(report.status) });
      byStatus.set(report.status, requests);
    }
    requests.inc();
    route.latency.observe(report.durationMs / 1000);
    if (report.pageCache !== undefined) this.page(report.pageCache.status);
  }

  /** Counts what the page cache did for one request. */
  page(result: PageCacheStatus): void {
    this.pageSeries.get(result)?.inc();
  }

  private routeSeries(route: string): RouteSeries {
    let series = this.routes.get(route);
    if (series === undefined) {
      series = { latency: this.latency.series({ route }), requests: new Map() };
      this.routes.set(route, series);
    }
    return series;
  }
}
