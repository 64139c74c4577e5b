import { Agent, request } from 'node:http';
import { percentile } from './stats.ts';

/** What a burst of concurrent requests saw. */
export interface BurstResult {
  requests: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Responses by `X-Cache` header value (`none` when absent). */
  xCache: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Sends `count` GETs for `url` at the same instant, each on its own connection (so none waits
 * for a socket), and resolves what came back once all have answered (bounded by `limitMs`).
 */
export async function burst(url: string, count: number, limitMs = 30_000): Promise<BurstResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const xCache: Record<string, number> = {};
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const sent = performance.now();
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - sent);
          const status = String(res.statusCode);
          statuses[status] = (statuses[status] ?? 0) + 1;
          const header = res.headers['x-cache'];
          const cache = typeof header === 'string' ? header : 'none';
          xCache[cache] = (xCache[cache] ?? 0) + 1;
          resolve();
        });
      });
      req.setTimeout(limitMs, () => req.destroy(new Error(`no answer within ${limitMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  try {
    await Promise.all(Array.from({ length: count }, one));
  } finally {
    agent.destroy();
  }
  return {
    requests: latencies.length,
    statuses,
    xCache,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
}
