import type { Context, Next } from 'koa';
import type { BreakerState } from './breaker.ts';
import type { Cache } from './cache.ts';
import { CacheConfigError } from './config.ts';
import type { PageCacheStatus } from './koa/page-cache/decide.ts';
import { matchedRoute } from './koa/route-name.ts';
import { now } from './telemetry.ts';
import type { CacheBackend, CacheEvent } from './types.ts';

/**
 * Prometheus metrics for the cache and the HTTP server, in the text exposition format (0.0.4),
 * written by hand: counters fed by the cache's event stream, latency histograms, page cache
 * results and HTTP requests fed by {@link httpMetrics}, and gauges (health, circuit breaker,
 * entries, bytes) read when scraped.
 */

/** Upper bounds of the cache operation latency buckets, in seconds. */
export const CACHE_LATENCY_BUCKETS: readonly number[] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Upper bounds of the HTTP request duration buckets, in seconds. */
export const HTTP_LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The Content-Type of the exposition. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Reads `METRICS_TOKEN`: the bearer token that lets a non-loopback scraper read /metrics
 * (undefined when unset: loopback only). Throws {@link CacheConfigError} when shorter than 16 characters.
 */
export function metricsTokenFromEnv(env: Record<string, string | undefined>): string | undefined {
  const token = env.METRICS_TOKEN?.trim() ?? '';
  if (token === '') return undefined;
  if (token.length < 16) throw new CacheConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  return token;
}

type Labels = Readonly<Record<string, string>>;

/** Escapes a label value as the exposition format requires (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/**
 * The key of a series within one metric: its label values in order. Each metric is always
 * counted with the same label names in the same order, so the values alone tell series apart;
 * this runs on every cache operation, the label text only when /metrics is read.
 */
function seriesKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${labels[name]}\u0000`;
  return key;
}

function header(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = seriesKey(labels);
    const entry = this.series.get(key);
    if (entry) entry.value += by;
    else this.series.set(key, { labels, value: by });
  }

  render(): string {
    let out = header(this.name, 'counter', this.help);
    for (const { labels, value } of this.series.values()) out += `${this.name}${labelText(labels)} ${value}\n`;
    return out;
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = seriesKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    for (let i = 0; i < this.buckets.length; i += 1) if (value <= this.buckets[i]) entry.counts[i] += 1;
    entry.sum += value;
    entry.count += 1;
  }

  render(): string {
    let out = header(this.name, 'histogram', this.help);
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((le, i) => (out += `${this.name}_bucket${labelText({ ...labels, le: String(le) })} ${counts[i]}\n`));
      out += `${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${sum}\n${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return out;
  }
}

/** The circuit-breaker state of a backend wrapped by `withBreaker` (breaker.ts), else undefined. */
export function breakerStateOf(backend: CacheBackend): BreakerState | undefined {
  const state: unknown = Reflect.get(backend, 'breakerState');
  return state === 'closed' || state === 'open' || state === 'half-open' ? state : undefined;
}

const PAGE_RESULTS: readonly PageCacheStatus[] = ['HIT', 'MISS', 'BYPASS', 'STALE'];
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The registry behind `GET /metrics`.
 *
 * @example
 * const metrics = new CacheMetrics();
 * metrics.watch(cache);
 * app.use(httpMetrics(metrics));
 * router.get('/metrics', async (ctx) => { ctx.type = METRICS_CONTENT_TYPE; ctx.body = await metrics.render(); });
 */
export class CacheMetrics {
  private readonly caches = new Set<Cache>();
  private readonly ops: Counter;
  private readonly bytes: Counter;
  private readonly errors: Counter;
  private readonly latency: Histogram;
  private readonly pages: Counter;
  private readonly requests: Counter;
  private readonly requestLatency: Histogram;

  constructor(private readonly prefix = 'kiln_') {
    this.ops = new Counter(`${prefix}cache_operations_total`, 'Cache operations by origin, backend, operation and result.');
    this.bytes = new Counter(`${prefix}cache_bytes_total`, 'Encoded bytes read from or written to the cache, by origin and backend.');
    this.errors = new Counter(`${prefix}cache_backend_errors_total`, 'Cache operations that failed in the backend (served as misses).');
    this.latency = new Histogram(`${prefix}cache_operation_duration_seconds`, 'Cache operation latency.', CACHE_LATENCY_BUCKETS);
    this.pages = new Counter(`${prefix}page_cache_results_total`, 'What the page cache did for requests to cached routes (X-Cache).');
    this.requests = new Counter(`${prefix}http_requests_total`, 'HTTP requests by method, route pattern and status.');
    this.requestLatency = new Histogram(`${prefix}http_request_duration_seconds`, 'HTTP request duration by route pattern.', HTTP_LATENCY_BUCKETS);
    for (const result of PAGE_RESULTS) this.pages.inc({ result }, 0);
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
    this.ops.inc({ origin: event.origin, backend: event.backend, op: event.op, result: event.result });
    this.latency.observe({ backend: event.backend, op: event.op }, event.durationMs / 1000);
    if (event.bytes !== undefined) this.bytes.inc({ origin: event.origin, backend: event.backend }, event.bytes);
    if (event.result === 'error') this.errors.inc({ backend: event.backend, op: event.op });
  }

  /** Counts what the page cache did for one request. */
  recordPage(result: PageCacheStatus): void {
    this.pages.inc({ result });
  }

  /** Counts one finished HTTP request; `route` must be a pattern, never a raw path (cardinality). */
  recordRequest(request: { method: string; route: string; status: number; durationMs: number }): void {
    const method = METHODS.has(request.method) ? request.method : 'other';
    this.requests.inc({ method, route: request.route, status: String(request.status) });
    this.requestLatency.observe({ route: request.route }, request.durationMs / 1000);
  }

  /** The exposition text, with the gauges read now. */
  async render(): Promise<string> {
    const p = this.prefix;
    let health = header(`${p}cache_backend_up`, 'gauge', 'Whether the last call to the cache backend succeeded (1) or it is degraded (0).');
    let breaker = header(`${p}cache_circuit_breaker_state`, 'gauge', 'Circuit-breaker state of the backend (1 for the current state); absent for backends without one.');
    let entries = header(`${p}cache_entries`, 'gauge', 'Entries the backend holds, where it knows.');
    let size = header(`${p}cache_stored_bytes`, 'gauge', 'Bytes the backend holds, where it knows.');
    let corrupt = header(`${p}cache_corrupt_entries_total`, 'counter', 'Entries that failed to decode and were deleted.');
    for (const cache of this.caches) {
      const backend = cache.backend.name;
      const stats = await cache.stats();
      health += `${p}cache_backend_up${labelText({ backend })} ${stats.health === 'ok' ? 1 : 0}\n`;
      const state = breakerStateOf(cache.backend);
      if (state !== undefined) {
        for (const s of BREAKER_STATES) breaker += `${p}cache_circuit_breaker_state${labelText({ backend, state: s })} ${s === state ? 1 : 0}\n`;
      }
      if (stats.backend.entries !== undefined) entries += `${p}cache_entries${labelText({ backend })} ${stats.backend.entries}\n`;
      if (stats.backend.bytes !== undefined) size += `${p}cache_stored_bytes${labelText({ backend })} ${stats.backend.bytes}\n`;
      corrupt += `${p}cache_corrupt_entries_total${labelText({ backend })} ${stats.corrupt}\n`;
    }
    return [
      this.ops.render(),
      this.latency.render(),
      this.bytes.render(),
      this.errors.render(),
      health,
      breaker,
      entries,
      size,
      corrupt,
      this.pages.render(),
      this.requests.render(),
      this.requestLatency.render(),
    ].join('');
  }
}

/** Options of {@link httpMetrics}. */
export interface HttpMetricsOptions {
  /** The route label of a request (default: the matched route pattern, else `unmatched`). */
  route?: (ctx: Context) => string;
}

/**
 * Counts every request by method, route pattern and final status, its duration, and the page
 * cache's result (`ctx.state.pageCache.status`). Mount it outside the error handler so it sees the
 * status that was sent; an error escaping the chain is counted as a 500.
 */
export function httpMetrics(metrics: CacheMetrics, options: HttpMetricsOptions = {}) {
  const routeOf = options.route ?? ((ctx: Context) => matchedRoute(ctx) ?? 'unmatched');
  return async function httpMetrics(ctx: Context, next: Next): Promise<void> {
    const start = now();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } finally {
      metrics.recordRequest({ method: ctx.method, route: routeOf(ctx), status, durationMs: now() - start });
      if (ctx.state.pageCache !== undefined) metrics.recordPage(ctx.state.pageCache.status);
    }
  };
}
