import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MetricFamily } from './cache/index.ts';

/**
 * How often the event loop's delay is sampled, in ms: the sampling is a timer, so an idle server
 * wakes this many times a second for as long as it runs. Node's default, 10 ms, woke an idle Kiln
 * 100 times a second and cost it 0.6–1.1 % of a core. Each sample still measures its delay to the
 * nanosecond; a stall shorter than the period is seen in proportion to its length.
 */
const LAG_RESOLUTION_MS = 100;

let lag: IntervalHistogram | undefined;

const gauge = (name: string, help: string, value: number): MetricFamily => ({ type: 'gauge', name, help, series: [{ labels: {}, value }] });

/**
 * This process's health as metric families, under the names prom-client uses so common
 * dashboards work: CPU seconds, resident memory, heap used, uptime, start time, and the event
 * loop's delay (mean, p99 and max since the previous read, which starts a new period). All are
 * per process: across workers each keeps a `worker` label instead of being summed.
 */
export function processFamilies(): MetricFamily[] {
  if (lag === undefined) {
    lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    lag.enable();
  }
  const cpu = process.cpuUsage();
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  const [mean, p99, max] = [lag.mean, lag.percentile(99), lag.max].map(seconds);
  lag.reset();
  return [
    { type: 'counter', name: 'process_cpu_seconds_total', help: 'CPU time of this process, user and system, in seconds.', perProcess: true, series: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }] },
    gauge('process_resident_memory_bytes', 'Resident memory of this process, in bytes.', process.memoryUsage.rss()),
    gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.', process.memoryUsage().heapUsed),
    gauge('process_uptime_seconds', 'Seconds since this process started.', process.uptime()),
    gauge('process_start_time_seconds', 'When this process started, in seconds since the Unix epoch.', Math.round(Date.now() / 1000 - process.uptime())),
    gauge('nodejs_eventloop_lag_mean_seconds', 'Mean event loop delay since the previous scrape, in seconds.', mean),
    gauge('nodejs_eventloop_lag_p99_seconds', '99th percentile of the event loop delay since the previous scrape, in seconds.', p99),
    gauge('nodejs_eventloop_lag_max_seconds', 'Longest event loop delay since the previous scrape, in seconds.', max),
  ];
}
