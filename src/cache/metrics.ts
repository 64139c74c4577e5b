import type { AnyBackend, BreakerState } from './backends/capabilities.ts';

// The metrics as the page cache and the toolbar import them; everything else imports from
// metrics/ or the package entry.
export { CACHE_LATENCY_BUCKETS, CacheMetrics, METRICS_CONTENT_TYPE } from './metrics/cache-metrics.ts';
export { httpMetrics, matchedRoute, type HttpMetricsOptions } from './metrics/http-metrics.ts';
export { escapeLabelValue } from './metrics/registry.ts';
export { HTTP_LATENCY_BUCKETS } from './metrics/request-reporter.ts';

/**
 * The circuit-breaker state of a backend wrapped by `withBreaker` (breaker.ts), else undefined.
 * @deprecated Read `cache.store.breaker?.breakerState`: found once, when the cache was made.
 */
export function breakerStateOf(backend: AnyBackend): BreakerState | undefined {
  return backend.breakerState;
}
