import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetMetrics } from '../src/fleet-metrics.ts';
import { renderFamilies, type MetricFamily } from '../src/cache/index.ts';
import { sendOnce } from './support/http-once.ts';
import { startKilnProcess, twoWorkerEnv, type KilnProcess } from './support/kiln-process.ts';

const LISTENING = /Kiln worker (\d+) listening on (http:\/\/[\d.]+:\d+)/;
const TOKEN = 'scrape-token-0123456789abcdef';

/** The value of one sample in an exposition, or undefined when absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const ABOUT = '{method="GET",route="/about",status="200"}';

describe('/metrics with KILN_WORKERS=2 (a real server process)', () => {
  let dir: string;
  let kiln: KilnProcess | undefined;
  afterEach(async () => {
    await kiln?.stop();
    kiln = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ base: string; pids: number[] }> {
    dir = mkdtempSync(join(tmpdir(), 'kiln-fleet-metrics-'));
    kiln = startKilnProcess(
      twoWorkerEnv(dir, {
        METRICS_TOKEN: TOKEN,
        LOG_LEVEL: 'info',
      }),
    );
    // Two workers compile and start at once: on a loaded machine that can take a while.
    const first = await kiln.waitForLine(LISTENING, { timeoutMs: 90_000 });
    const second = await kiln.waitForLine(LISTENING, { after: first.index, timeoutMs: 90_000 });
    return { base: first.match[2], pids: [Number(first.match[1]), Number(second.match[1])] };
  }

  /** `n` requests for /about, each on its own connection (the primary hands connections to the workers in turn). */
  async function about(base: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) expect((await sendOnce(base, '/about')).status).toBe(200);
  }

  async function scrape(base: string): Promise<string> {
    const res = await sendOnce(base, '/metrics');
    expect(res.status).toBe(200);
    return res.text;
  }

  it('sums the requests of both workers exactly, never backwards, also across a worker that died', async () => {
    const { base, pids } = await start();
    await about(base, 10);
    // Both workers served some: the access log says which worker wrote each line.
    const workersSeen = new Set(kiln?.lines.filter((l) => / GET \/about 200 /.test(l)).map((l) => /worker=(\d+)/.exec(l)?.[1]));
    expect(workersSeen.size).toBe(2);
    // Every scrape, whichever worker answers it, sees the total.
    for (let i = 0; i < 4; i++) expect(sample(await scrape(base), 'kiln_http_requests_total', ABOUT)).toBe(10);
    await about(base, 7);
    const before = await scrape(base);
    expect(sample(before, 'kiln_http_requests_total', ABOUT)).toBe(17);
    expect(sample(before, 'kiln_http_request_duration_seconds_count', '{route="/about"}')).toBe(17);

    const lines = kiln?.lines.length ?? 0;
    process.kill(pids[0], 'SIGKILL');
    await kiln?.waitForLine(LISTENING, { after: lines, timeoutMs: 90_000 });
    const after = await scrape(base);
    expect(sample(after, 'kiln_http_requests_total', ABOUT)).toBe(17);
    await about(base, 3);
    expect(sample(await scrape(base), 'kiln_http_requests_total', ABOUT)).toBe(20);
  }, 240_000);

  it('gives each worker its process metrics under a worker label, and keeps METRICS_TOKEN', async () => {
    const { base } = await start();
    const text = await scrape(base);
    for (const worker of ['1', '2']) {
      for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total', 'process_uptime_seconds', 'nodejs_eventloop_lag_p99_seconds']) {
        expect(sample(text, name, `{worker="${worker}"}`), `${name} of worker ${worker}`).toBeGreaterThanOrEqual(0);
      }
      expect(sample(text, 'kiln_cache_backend_up', `{backend="null",worker="${worker}"}`)).toBe(1);
    }
    expect(sample(text, 'process_resident_memory_bytes', '')).toBeUndefined();
    // A client relayed from elsewhere needs the token, whichever worker it reaches.
    const relayed = { 'X-Forwarded-For': '203.0.113.9' };
    for (let i = 0; i < 2; i++) {
      expect((await sendOnce(base, '/metrics', { headers: relayed })).status).toBe(401);
      const allowed = await sendOnce(base, '/metrics', { headers: { ...relayed, Authorization: `Bearer ${TOKEN}` } });
      expect(allowed.status).toBe(200);
      expect(allowed.text).toContain('process_resident_memory_bytes{worker="2"}');
    }
  }, 240_000);
});

describe('FleetMetrics', () => {
  const counter = (value: number): MetricFamily => ({ type: 'counter', name: 'c_total', help: 'C.', series: [{ labels: { a: 'x' }, value }] });
  const gauge = (value: number): MetricFamily => ({ type: 'gauge', name: 'g', help: 'G.', series: [{ labels: {}, value }] });
  const histogram = (counts: number[], sum: number): MetricFamily => ({
    type: 'histogram',
    name: 'h',
    help: 'H.',
    buckets: [1, 5],
    series: [{ labels: {}, counts, sum, count: counts[1] + 1 }],
  });

  it('sums counters and histograms, labels gauges by worker, and keeps a retired worker in the sums only', () => {
    const fleet = new FleetMetrics();
    fleet.update(2, [counter(5), gauge(50), histogram([1, 2], 8)]);
    fleet.update(1, [counter(3), gauge(30), histogram([0, 1], 9)]);
    let text = renderFamilies(fleet.combined());
    expect(text).toContain('c_total{a="x"} 8\n');
    expect(text).toContain('g{worker="1"} 30\ng{worker="2"} 50\n');
    expect(text).toContain('h_bucket{le="1"} 1\nh_bucket{le="5"} 3\nh_bucket{le="+Inf"} 5\nh_sum 17\nh_count 5\n');
    fleet.retire(2);
    fleet.update(3, [counter(1), gauge(10), histogram([0, 0], 0)]);
    text = renderFamilies(fleet.combined());
    expect(text).toContain('c_total{a="x"} 9\n');
    expect(text).toContain('g{worker="1"} 30\ng{worker="3"} 10\n');
    expect(text).not.toContain('worker="2"');
    expect(text).toContain('h_count 6\n');
  });

  it('refuses to add up a family whose kind differs between workers', () => {
    const fleet = new FleetMetrics();
    fleet.update(1, [counter(1)]);
    fleet.update(2, [{ ...gauge(1), name: 'c_total' }]);
    expect(() => fleet.combined()).toThrow(/c_total/);
  });
});
