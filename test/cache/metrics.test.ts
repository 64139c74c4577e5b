import { once } from 'node:events';
import { Router } from '@koa/router';
import Koa from 'koa';
import supertest from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { withBreaker } from '../../src/cache/distributed/breaker.ts';
import { Cache } from '../../src/cache/cache.ts';
import { cacheView } from '../../src/cache/koa/page-cache/view.ts';
import { HttpPurger, type PurgeEvent } from '../../src/cache/http-purge.ts';
import { CacheMetrics } from '../../src/cache/metrics/cache-metrics.ts';
import { useRequestFrame } from '../../src/cache/koa/request-frame.ts';
import { Counter, escapeLabelValue, Histogram } from '../../src/cache/metrics/registry.ts';
import { combineFamilies, renderFamilies } from '../../src/cache/metrics/families.ts';
import type { CacheBackend, CacheEvent } from '../../src/cache/types.ts';
import { FlakyBackend } from './helpers.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

function setup(wrap: (backend: MemoryBackend, clock: FakeClock) => CacheBackend = (b) => b) {
  const clock = new FakeClock();
  const backend = wrap(new MemoryBackend({ clock }), clock);
  const cache = new Cache({ backend, clock, logger: new MemoryLogger() });
  const metrics = new CacheMetrics();
  metrics.watch(cache);
  return { clock, cache, metrics, backend };
}

/** The value of one sample, or undefined when the exposition has no such line. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2] === undefined ? [] : match[2].split(/,(?=[a-zA-Z_]+=")/);
    if (wanted.length === have.length && wanted.every((pair) => have.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

describe('CacheMetrics cache counters', () => {
  it('counts operations by origin, backend, operation and result from the event stream', async () => {
    const { cache, metrics } = setup();
    await cache.get('a');
    await cache.set('a', 1);
    await cache.get('a');
    await cache.get('a', { origin: 'fragment' });
    const text = await metrics.render();
    const ops = (labels: Record<string, string>) => sample(text, 'kiln_cache_operations_total', { backend: 'memory', ...labels });
    expect(ops({ origin: 'direct', op: 'get', result: 'miss' })).toBe(1);
    expect(ops({ origin: 'direct', op: 'set', result: 'set' })).toBe(1);
    expect(ops({ origin: 'direct', op: 'get', result: 'hit' })).toBe(1);
    expect(ops({ origin: 'fragment', op: 'get', result: 'hit' })).toBe(1);
    // The integer 1 is stored as the one byte "1": written once, read back once.
    expect(sample(text, 'kiln_cache_bytes_total', { origin: 'direct', backend: 'memory' })).toBe(2);
  });

  it('keeps a latency histogram per operation whose buckets add up', async () => {
    const { cache, metrics } = setup();
    const observed: number[] = [];
    cache.events.on('op', (event: CacheEvent) => {
      if (event.op === 'get') observed.push(event.durationMs);
    });
    // Every reading of the monotonic clock moves it 1 ms on, so each get lasts a known, non-zero time.
    let ms = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (ms += 1));
    try {
      for (let i = 0; i < 3; i += 1) await cache.get(`k${i}`);
    } finally {
      clock.mockRestore();
    }
    const text = await metrics.render();
    const labels = { backend: 'memory', op: 'get' };
    expect(sample(text, 'kiln_cache_operation_duration_seconds_count', labels)).toBe(3);
    expect(sample(text, 'kiln_cache_operation_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(3);
    const buckets = text.split('\n').filter((l) => l.startsWith('kiln_cache_operation_duration_seconds_bucket{backend="memory",op="get"'));
    const counts = buckets.map((l) => Number(l.split(' ')[1]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(observed).toHaveLength(3);
    expect(Math.min(...observed)).toBeGreaterThan(0);
    expect(sample(text, 'kiln_cache_operation_duration_seconds_sum', labels)).toBeCloseTo(observed.reduce((a, b) => a + b, 0) / 1000, 9);
  });

  it('counts backend errors and reports a degraded backend as down', async () => {
    const { cache, metrics, backend } = setup((b) => new FlakyBackend(b));
    if (!(backend instanceof FlakyBackend)) throw new Error('expected the flaky backend');
    backend.failing = true;
    await cache.get('a');
    await cache.set('a', 1);
    const text = await metrics.render();
    expect(sample(text, 'kiln_cache_backend_errors_total', { backend: 'flaky', op: 'get' })).toBe(1);
    expect(sample(text, 'kiln_cache_backend_errors_total', { backend: 'flaky', op: 'set' })).toBe(1);
    expect(sample(text, 'kiln_cache_backend_up', { backend: 'flaky' })).toBe(0);
    backend.failing = false;
    await cache.get('a');
    expect(sample(await metrics.render(), 'kiln_cache_backend_up', { backend: 'flaky' })).toBe(1);
  });

  it('reports the circuit breaker state of a guarded backend, and none for a plain one', async () => {
    let flaky: FlakyBackend | undefined;
    const { cache, metrics } = setup((b, clock) => {
      flaky = new FlakyBackend(b);
      return withBreaker(flaky, { failureThreshold: 2, openMs: 1000, clock });
    });
    const state = async (s: string) => sample(await metrics.render(), 'kiln_cache_circuit_breaker_state', { backend: 'flaky', state: s });
    expect(await state('closed')).toBe(1);
    if (!flaky) throw new Error('no backend');
    flaky.failing = true;
    await cache.get('a');
    await cache.get('a');
    expect(await state('open')).toBe(1);
    expect(await state('closed')).toBe(0);
    expect(await state('half-open')).toBe(0);
    const plain = setup();
    expect(await plain.metrics.render()).not.toMatch(/^kiln_cache_circuit_breaker_state\{/m);
  });

  it('reports the entries and bytes the backend knows of', async () => {
    const { cache, metrics } = setup();
    await cache.set('a', 'x');
    await cache.set('b', 'y');
    const text = await metrics.render();
    expect(sample(text, 'kiln_cache_entries', { backend: 'memory' })).toBe(2);
    // Two bytes per UTF-16 unit of key and stored value: 2 × 2 × (1 + '{"k":1,"v":"x"}'.length).
    expect(sample(text, 'kiln_cache_stored_bytes', { backend: 'memory' })).toBe(64);
  });
});

describe('metrics.requestReporter() behind the request frame', () => {
  async function pageApp() {
    const { cache, metrics, clock } = setup();
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    let renders = 0;
    router.get('/posts/:id', cacheView({ cache, clock, timeout: 60 }), (ctx) => {
      renders += 1;
      ctx.type = 'html';
      ctx.body = `<p>${ctx.params.id}</p>`;
    });
    router.get('/boom', () => {
      throw new Error('boom');
    });
    useRequestFrame(app, { headers: {}, reporters: [metrics.requestReporter()] });
    app.use(router.routes());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { metrics, server, http: () => supertest(server), renders: () => renders };
  }

  it('counts requests by route pattern (not raw path) and status, and the page cache results', async () => {
    const { metrics, server, http, renders } = await pageApp();
    try {
      await http().get('/posts/1').expect(200);
      await http().get('/posts/2').expect(200);
      await http().get('/posts/1').expect(200).expect('X-Cache', 'HIT');
      await http().get('/posts/1?x=1').expect(200).expect('X-Cache', 'BYPASS');
      await http().get('/nothing/here').expect(404);
      await http().get('/boom').expect(500);
      expect(renders()).toBe(3);
      const text = await metrics.render();
      expect(sample(text, 'kiln_http_requests_total', { method: 'GET', route: '/posts/:id', status: '200' })).toBe(4);
      expect(sample(text, 'kiln_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
      expect(sample(text, 'kiln_http_requests_total', { method: 'GET', route: '/boom', status: '500' })).toBe(1);
      expect(text).not.toContain('/posts/1"');
      expect(sample(text, 'kiln_page_cache_results_total', { result: 'MISS' })).toBe(2);
      expect(sample(text, 'kiln_page_cache_results_total', { result: 'HIT' })).toBe(1);
      expect(sample(text, 'kiln_page_cache_results_total', { result: 'BYPASS' })).toBe(1);
      expect(sample(text, 'kiln_page_cache_results_total', { result: 'STALE' })).toBe(0);
      expect(sample(text, 'kiln_http_request_duration_seconds_count', { route: '/posts/:id' })).toBe(4);
    } finally {
      server.close();
    }
  });
});

describe('CacheMetrics exposition format', () => {
  it('declares each family once and writes only well-formed samples, escaping label values', async () => {
    const { metrics } = setup();
    metrics.recordRequest({ method: 'BREW', route: 'a"b\\c\nd', status: 418, durationMs: 1 });
    const text = await metrics.render();
    expect(text).toContain('kiln_http_requests_total{method="other",route="a\\"b\\\\c\\nd",status="418"} 1');
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      expect(line).toMatch(/^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\["\\n])*",?)*\})? (-?\d+(\.\d+)?(e[-+]?\d+)?|\+Inf)$/);
    }
  });
});

describe('CacheMetrics.watchPurges()', () => {
  it('counts the purges sent to each shared HTTP cache by result, from zero', async () => {
    const metrics = new CacheMetrics();
    const purger = new HttpPurger({ urls: ['http://a:6081/', 'http://b:6081/'] });
    const stop = metrics.watchPurges(purger);
    const event = (target: string, result: PurgeEvent['result']): PurgeEvent => ({ target, tags: ['lists'], attempt: 'first', result, durationMs: 1 });
    purger.events.emit('purge', event('http://a:6081/', 'sent'));
    purger.events.emit('purge', event('http://a:6081/', 'failed'));
    purger.events.emit('purge', event('http://a:6081/', 'failed'));
    purger.events.emit('purge', event('http://b:6081/', 'abandoned'));
    stop();
    purger.events.emit('purge', event('http://b:6081/', 'sent'));
    const text = await metrics.render();
    const count = (target: string, result: string) => sample(text, 'kiln_http_cache_purges_total', { target, result });
    expect(['sent', 'failed', 'abandoned'].map((r) => count('http://a:6081/', r))).toEqual([1, 2, 0]);
    expect(['sent', 'failed', 'abandoned'].map((r) => count('http://b:6081/', r))).toEqual([0, 0, 1]);
  });
});

describe('metrics.requestReporter()', () => {
  it('counts a reported request like a served one, with the page cache result, and a fast hit too', async () => {
    const { metrics } = setup();
    const reporter = metrics.requestReporter();
    const base = { method: 'GET', path: '/posts/1', route: '/posts/:id', bytes: 10, early: false };
    reporter.report({ ...base, status: 200, durationMs: 4, pageCache: { status: 'MISS' } });
    reporter.report({ ...base, status: 200, durationMs: 1, pageCache: { status: 'HIT' }, early: true });
    reporter.report({ ...base, method: 'PURGE', route: 'unmatched', status: 404, durationMs: 1, pageCache: undefined });
    const text = await metrics.render();
    expect(sample(text, 'kiln_http_requests_total', { method: 'GET', route: '/posts/:id', status: '200' })).toBe(2);
    expect(sample(text, 'kiln_http_requests_total', { method: 'other', route: 'unmatched', status: '404' })).toBe(1);
    expect(sample(text, 'kiln_http_request_duration_seconds_count', { route: '/posts/:id' })).toBe(2);
    expect(sample(text, 'kiln_http_request_duration_seconds_sum', { route: '/posts/:id' })).toBe(0.005);
    expect(sample(text, 'kiln_page_cache_results_total', { result: 'HIT' })).toBe(1);
    expect(sample(text, 'kiln_page_cache_results_total', { result: 'MISS' })).toBe(1);
    expect(text).not.toContain('/posts/1"');
  });
});

describe('counter.series() and histogram.series()', () => {
  it('show nothing until counted, then count into the same series as the labels do', () => {
    const counter = new Counter('c_total', 'A counter.');
    const bound = counter.series({ a: 'x' });
    expect(counter.render()).not.toContain('c_total{');
    bound.inc();
    counter.inc({ a: 'x' }, 2);
    expect(counter.snapshot()).toEqual([{ labels: { a: 'x' }, value: 3 }]);
    const histogram = new Histogram('h', 'A histogram.', [1, 5]);
    const observed = histogram.series({ op: 'get' });
    expect(histogram.snapshot()).toEqual([]);
    observed.observe(0.5);
    observed.observe(3);
    histogram.observe({ op: 'get' }, 9);
    expect(histogram.snapshot()).toEqual([{ labels: { op: 'get' }, counts: [1, 2], sum: 12.5, count: 3 }]);
    expect(histogram.render()).toContain('h_bucket{op="get",le="5"} 2\nh_bucket{op="get",le="+Inf"} 3\n');
  });
});

describe('renderFamilies() and combineFamilies()', () => {
  it('render a counter and a histogram exactly as they render themselves', () => {
    const counter = new Counter('c_total', 'A counter.');
    counter.inc({ a: 'x"y' }, 2);
    const histogram = new Histogram('h', 'A histogram.', [1, 5]);
    histogram.observe({ op: 'get' }, 3);
    expect(renderFamilies([counter.family(), histogram.family()])).toBe(counter.render() + histogram.render());
  });

  it('add up the same series of two processes and keep the rest', () => {
    const a = new Counter('c_total', 'A counter.');
    a.inc({ k: '1' }, 2);
    const b = new Counter('c_total', 'A counter.');
    b.inc({ k: '1' }, 3);
    b.inc({ k: '2' });
    expect(combineFamilies([a.family()], [b.family()])[0].series).toEqual([
      { labels: { k: '1' }, value: 5 },
      { labels: { k: '2' }, value: 1 },
    ]);
  });
});
