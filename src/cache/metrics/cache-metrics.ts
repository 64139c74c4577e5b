import type { BreakerState } from '../backends/capabilities.ts';
import type { Cache } from '../cache.ts';
import type { HttpPurger, PurgeEvent } from '../http-purge.ts';
import type { CacheEvent, CacheOp, CacheOrigin, CacheResult, PageCacheStatus } from '../types.ts';
import { renderFamilies, type GaugeSample, type MetricFamily } from './families.ts';
import { Counter, Histogram, type CounterSeries, type HistogramSeries } from './registry.ts';
import { RequestMetrics, type RequestReporter } from './request-reporter.ts';

/** Upper bounds of the cache operation latency buckets, in seconds. */
export const CACHE_LATENCY_BUCKETS: readonly number[] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** The Content-Type of the exposition. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const PURGE_RESULTS: readonly PurgeEvent['result'][] = ['sent', 'failed', 'abandoned'];

type ByOrigin<T> = Record<CacheOrigin, T>;
type ByOp<T> = Record<CacheOp, T>;
type ByResult<T> = Record<CacheResult, T>;

function byOrigin<T>(make: (origin: CacheOrigin) => T): ByOrigin<T> {
  return { view: make('view'), fragment: make('fragment'), memoize: make('memoize'), direct: make('direct') };
}

function byOp<T>(make: (op: CacheOp) => T): ByOp<T> {
  return {
    get: make('get'),
    set: make('set'),
    add: make('add'),
    delete: make('delete'),
    has: make('has'),
    clear: make('clear'),
    incr: make('incr'),
    invalidateTags: make('invalidateTags'),
  };
}

function byResult<T>(make: (result: CacheResult) => T): ByResult<T> {
  return { hit: make('hit'), miss: make('miss'), set: make('set'), delete: make('delete'), error: make('error') };
}

/** Every cache series of one backend, bound ahead (a handle shows nothing until counted). */
interface BackendSeries {
  ops: ByOrigin<ByOp<ByResult<CounterSeries>>>;
  latency: ByOp<HistogramSeries>;
  bytes: ByOrigin<CounterSeries>;
  errors: ByOp<CounterSeries>;
}

/**
 * The registry behind `GET /metrics`: counters fed by the cache's event stream, latency
 * histograms, page cache results and HTTP requests fed by {@link CacheMetrics.requestReporter},
 * and gauges (health, circuit breaker, entries, bytes) read when scraped.
 *
 * @example
 * const metrics = new CacheMetrics();
 * metrics.watch(cache);
 * router.get('/metrics', async (ctx) => { ctx.type = METRICS_CONTENT_TYPE; ctx.body = await metrics.render(); });
 */
export class CacheMetrics {
  private readonly caches = new Set<Cache>();
  private readonly ops: Counter;
  private readonly bytes: Counter;
  private readonly errors: Counter;
  private readonly latency: Histogram;
  private readonly http: RequestMetrics;
  private readonly backends = new Map<string, BackendSeries>();
  private readonly purges: Counter;

  constructor(private readonly prefix = 'kiln_') {
    this.ops = new Counter(`${prefix}cache_operations_total`, 'Cache operations by origin, backend, operation and result.');
    this.bytes = new Counter(`${prefix}cache_bytes_total`, 'Encoded bytes read from or written to the cache, by origin and backend.');
    this.errors = new Counter(`${prefix}cache_backend_errors_total`, 'Cache operations that failed in the backend (served as misses).');
    this.latency = new Histogram(`${prefix}cache_operation_duration_seconds`, 'Cache operation latency.', CACHE_LATENCY_BUCKETS);
    this.http = new RequestMetrics(prefix);
    this.purges = new Counter(
      `${prefix}http_cache_purges_total`,
      'Purge requests to shared HTTP caches by target and result: sent, failed (retried later), abandoned (retries ran out).',
    );
  }

  /** Counts the purges `purger` sends to shared HTTP caches from now on; returns a function that stops. */
  watchPurges(purger: Pick<HttpPurger, 'events' | 'urls'>): () => void {
    for (const target of purger.urls) for (const result of PURGE_RESULTS) this.purges.inc({ target, result }, 0);
    const listener = (event: PurgeEvent) => this.purges.inc({ target: event.target, result: event.result });
    purger.events.on('purge', listener);
    return () => void purger.events.off('purge', listener);
  }

  /** Counts every operation of `cache` from now on and reports its gauges; returns a function that stops. */
  watch(cache: Cache): () => void {
    const listener = (event: CacheEvent) => this.observe(event);
    cache.events.on('op', listener);
    this.caches.add(cache);
    return () => {
      cache.events.off('op', listener);
      this.caches.delete(cache);
    };
  }

  /** Counts one cache operation. */
  observe(event: CacheEvent): void {
    const series = this.backends.get(event.backend) ?? this.bind(event.backend);
    series.ops[event.origin][event.op][event.result].inc();
    series.latency[event.op].observe(event.durationMs / 1000);
    if (event.bytes !== undefined) series.bytes[event.origin].inc(event.bytes);
    if (event.result === 'error') series.errors[event.op].inc();
  }

  private bind(backend: string): BackendSeries {
    const series: BackendSeries = {
      ops: byOrigin((origin) => byOp((op) => byResult((result) => this.ops.series({ origin, backend, op, result })))),
      latency: byOp((op) => this.latency.series({ backend, op })),
      bytes: byOrigin((origin) => this.bytes.series({ origin, backend })),
      errors: byOp((op) => this.errors.series({ backend, op })),
    };
    this.backends.set(backend, series);
    return series;
  }

  /** What counts finished requests (method, route pattern, status, duration, page cache result). */
  requestReporter(): RequestReporter {
    return this.http;
  }

  /** Counts what the page cache did for one request. */
  recordPage(result: PageCacheStatus): void {
    this.http.page(result);
  }

  /** Counts one finished HTTP request; `route` must be a pattern, never a raw path (cardinality). */
  recordRequest(request: { method: string; route: string; status: number; durationMs: number }): void {
    const { method, route, status, durationMs } = request;
    this.http.report({ method, path: '', status, durationMs, route, bytes: undefined, pageCache: undefined, early: false });
  }

  /** The exposition text, with the gauges read now. */
  async render(): Promise<string> {
    return renderFamilies(await this.families());
  }

  /** Every family as plain data, with the gauges read now: what another process adds up (see `combineFamilies`). */
  async families(): Promise<MetricFamily[]> {
    const p = this.prefix;
    const gauge = (name: string, help: string) => ({ type: 'gauge' as const, name: `${p}${name}`, help, series: [] as GaugeSample[] });
    const health = gauge('cache_backend_up', 'Whether the last call to the cache backend succeeded (1) or it is degraded (0).');
    const breaker = gauge('cache_circuit_breaker_state', 'Circuit-breaker state of the backend (1 for the current state); absent for backends without one.');
    const entries = gauge('cache_entries', 'Entries the backend holds, where it knows.');
    const size = gauge('cache_stored_bytes', 'Bytes the backend holds, where it knows.');
    const corrupt = { type: 'counter' as const, name: `${p}cache_corrupt_entries_total`, help: 'Entries that failed to decode and were deleted.', series: [] as GaugeSample[] };
    for (const cache of this.caches) {
      const backend = cache.backend.name;
      const stats = await cache.stats();
      health.series.push({ labels: { backend }, value: stats.health === 'ok' ? 1 : 0 });
      const state = cache.store.breaker?.breakerState;
      if (state !== undefined) for (const s of BREAKER_STATES) breaker.series.push({ labels: { backend, state: s }, value: s === state ? 1 : 0 });
      if (stats.backend.entries !== undefined) entries.series.push({ labels: { backend }, value: stats.backend.entries });
      if (stats.backend.bytes !== undefined) size.series.push({ labels: { backend }, value: stats.backend.bytes });
      corrupt.series.push({ labels: { backend }, value: stats.corrupt });
    }
    return [
      this.ops.family(),
      this.latency.family(),
      this.bytes.family(),
      this.errors.family(),
      health,
      breaker,
      entries,
      size,
      corrupt,
      this.http.pages.family(),
      this.http.requests.family(),
      this.http.latency.family(),
      this.purges.family(),
    ];
  }
}
