import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startRedisServer } from '../test/support/redis-server.ts';
import type { MemoryBoundResult } from './memory-bound.ts';
import { ROOT, startKiln, type KilnOptions, type KilnProcess } from './servers.ts';
import { burst } from './stampede.ts';
import { measureInterleaved, probe, type TargetResult, type ThroughputOptions } from './throughput.ts';

/** One stampede: concurrent requests on one page in one state. */
export interface StampedeResult {
  backend: string;
  state: 'cold' | 'expired';
  requests: number;
  /** Page templates rendered by the burst (the bench server counts `ctx.render` calls). */
  renders: number;
  /** Responses by `X-Cache`. */
  xCache: Record<string, number>;
  /** Responses that were not 200. */
  failed: number;
  p50Ms: number;
  p99Ms: number;
}

/** The index page's timeout (src/blog/caching.ts PAGE_TIMEOUTS.index) plus a minute: past it, the page has expired. */
const PAST_INDEX_TIMEOUT_MS = (20 * 60 + 60) * 1000;

/**
 * `count` concurrent GETs of `/` on a cold cache (emptied first), then as many once the page has
 * expired (the server's clock moved past the index timeout): renders come from the server.
 */
export async function stampede(kiln: KilnProcess, backend: string, count: number): Promise<StampedeResult[]> {
  const results: StampedeResult[] = [];
  await kiln.control({ type: 'clear' });
  for (const state of ['cold', 'expired'] as const) {
    if (state === 'expired') await kiln.control({ type: 'advance', ms: PAST_INDEX_TIMEOUT_MS });
    const before = (await kiln.control({ type: 'stats' })).renders;
    const seen = await burst(`${kiln.url}/`, count);
    const renders = (await kiln.control({ type: 'stats' })).renders - before;
    const failed = seen.requests - (seen.statuses['200'] ?? 0);
    results.push({ backend, state, requests: seen.requests, renders, xCache: seen.xCache, failed, p50Ms: seen.p50Ms, p99Ms: seen.p99Ms });
  }
  return results;
}

/** The cost of a Redis outage: `/` on Kiln whose Redis was stopped, against Kiln with the null cache. */
export interface OutageResult {
  nullCache: TargetResult;
  redisDown: TargetResult;
}

/**
 * Starts a private redis-server, Kiln on it (the page stored once), stops the server, then
 * measures `/` interleaved with the null-cache Kiln. The private server is always stopped.
 */
export async function redisOutage(
  nullKiln: KilnProcess,
  kilnOptions: Omit<KilnOptions, 'cacheType'>,
  options: ThroughputOptions,
): Promise<OutageResult> {
  const redis = await startRedisServer();
  let kiln: KilnProcess | undefined;
  try {
    kiln = await startKiln({ ...kilnOptions, cacheType: 'redis', env: { CACHE_REDIS_URL: redis.url } });
    await probe(`${kiln.url}/`);
    await redis.stop();
    const [nullCache, redisDown] = await measureInterleaved(
      [
        { name: 'kiln null', server: nullKiln, path: '/', kiln: nullKiln },
        { name: 'kiln redis (down)', server: kiln, path: '/', kiln },
      ],
      options,
    );
    return { nullCache, redisDown };
  } finally {
    await kiln?.stop();
    await redis.stop();
  }
}

/** Runs bench/memory-bound.ts in a process of its own and resolves what it measured. */
export async function memoryBound(bodyFile: string, pages: number, maxBytes: string): Promise<MemoryBoundResult> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/memory-bound.ts'), bodyFile, String(pages), maxBytes],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  const line = output.split('\n').find((l) => l.startsWith('MEMJSON '));
  if (code !== 0 || !line) throw new Error(`memory bound run failed (${code}):\n${output}`);
  return JSON.parse(line.slice('MEMJSON '.length)) as MemoryBoundResult;
}
