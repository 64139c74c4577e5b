import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressionSizes, compressionTargets, type CompressionSizes } from './compression.ts';
import { GROWTH_FULL, GROWTH_QUICK, measureGrowth, type GrowthOptions, type GrowthResult } from './growth.ts';
import type { MemoryBoundResult } from './memory-bound.ts';
import { memoryBound, redisOutage, stampede, type OutageResult, type StampedeResult } from './scenarios.ts';
import { prepareDatabase, startBareKoa, startBareKoaCompress, startKiln, type BenchCacheType, type KilnProcess, type ServerProcess } from './servers.ts';
import { measureInterleaved, mergeResults, type Target, type TargetResult } from './throughput.ts';
import { freePort } from '../test/support/children.ts';
import { requireVarnish } from '../test/support/services.ts';
import { freshnessAfterSave, purgedKilnEnv, startVarnishFor, type VarnishFreshness } from './varnish.ts';
import { hasWrk, type LoadTool } from './wrk.ts';

/** The routes the suite measures. */
export const ROUTES: readonly string[] = ['/', '/posts/150', '/about', '/api/v1/posts'];
/** The cache backends the suite runs Kiln with, in the order they are measured. */
export const BACKENDS: readonly BenchCacheType[] = ['null', 'memory', 'filesystem', 'redis'];

/** The phases after the throughput one, which a run may leave out. */
export type SuitePhase = 'stampede' | 'outage' | 'memory' | 'varnish' | 'compression' | 'growth';

/** How a run is shaped; `quickOptions` and `fullOptions` are the two presets. */
export interface SuiteOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  routes: readonly string[];
  backends: readonly BenchCacheType[];
  /** Concurrent requests of each stampede. */
  stampede: number;
  /** Pages and byte bound of the memory-bound run. */
  memoryPages: number;
  memoryMaxBytes: string;
  /** Load generator; wrk when installed, else the Node one. */
  tool: LoadTool;
  /** Author saves timed through Varnish, from the 303 to the first fresh read. */
  varnishEdits: number;
  quick: boolean;
  /** Phases to leave out (each is then listed in `skipped`); none by default. */
  skip?: readonly SuitePhase[];
  /** The posts to import (default: the shared standard file when present, else generated; see servers.ts). */
  postsFile?: string;
  /** The data-growth phase (bench/growth.ts): sizes, databases, requests per page. */
  growth: Omit<GrowthOptions, 'log'>;
  log: (line: string) => void;
}

/**
 * The full run behind BENCHMARKS.md (about 18 minutes on the 2-core machine). Nine rounds of 3 s
 * rather than fewer, longer ones: on this shared VM single windows of a few seconds run at up to
 * twice the CPU per request for any server, and a median of nine needs five such windows in one
 * row to move, a median of five only three (bench/notes.md).
 */
export function fullOptions(log: (line: string) => void): SuiteOptions {
  return {
    connections: 32, durationS: 3, warmupS: 2, rounds: 9, routes: ROUTES, backends: BACKENDS,
    stampede: 200, memoryPages: 100_000, memoryMaxBytes: '64MB', varnishEdits: 9,
    growth: { ...GROWTH_FULL, sizes: [...GROWTH_FULL.sizes], databases: [...GROWTH_FULL.databases] },
    tool: hasWrk() ? 'wrk' : 'node', quick: false, log,
  };
}

/** A smoke run: every phase, tiny durations and sizes. */
export function quickOptions(log: (line: string) => void): SuiteOptions {
  return {
    ...fullOptions(log), durationS: 1, warmupS: 1, rounds: 1, memoryPages: 5_000, memoryMaxBytes: '4MB', varnishEdits: 3, quick: true,
    growth: { ...GROWTH_QUICK, sizes: [...GROWTH_QUICK.sizes], databases: [...GROWTH_QUICK.databases] },
  };
}

/** Where and on what the run happened. */
export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  /** 1-minute load average before and after the run: other work on a shared machine shows here. */
  loadBefore: number;
  loadAfter: number;
}

/** Everything one run measured. */
export interface BenchResults {
  date: string;
  machine: Machine;
  options: Omit<SuiteOptions, 'log'>;
  /** The bare Koa baseline, merged over every place it was measured. */
  bare: TargetResult;
  rows: TargetResult[];
  stampede: StampedeResult[];
  /** Undefined when the phase was left out. */
  memory: MemoryBoundResult | undefined;
  outage: OutageResult | undefined;
  /** Kiln (memory) behind Varnish: the author's 303 to the first fresh read through Varnish. */
  varnish?: VarnishFreshness;
  /** The body of `/` in each coding (absent when the compression rows did not run). */
  compression?: CompressionSizes;
  /** Uncached pages and the import at growing numbers of posts (absent from runs made before the phase existed). */
  growth?: GrowthResult;
  /** Why a part did not run (e.g. no Redis). */
  skipped: string[];
  seconds: number;
}

/**
 * Removes every key under `prefix` from the shared Redis (SCAN + UNLINK, never a flush): what the
 * servers' own `clear()` leaves behind, such as the near cache's coherence sequence.
 */
async function dropRedisPrefix(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Whether a Redis answers PING on 127.0.0.1:6379 within a second. */
export function sharedRedisUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(6379, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

/**
 * One route's targets in the order each round measures them: the baseline (bare Koa), then the
 * Kiln rows that answer from the cache, then the rest (the uncached Kiln, which renders, the
 * proxy, and compression on every request), each part in the order given. On `/`, where the
 * targets judge the cached rows against bare Koa, bare Koa is measured before and after each of
 * them: the host has slow spells of tens of seconds (bench/notes.md), and a row is compared with
 * the bare Koa of the seconds around it.
 */
export function measureOrder(group: readonly Target[]): Target[] {
  const cached = (t: Target) => t.kiln !== undefined && t.name !== 'kiln null';
  const baseline = group.filter((t) => t.baseline);
  const rows = group.filter(cached);
  const rest = group.filter((t) => !t.baseline && !cached(t));
  if (!rows.some((t) => t.path === '/')) return [...baseline, ...rows, ...rest];
  return [...rows.flatMap((t) => [...baseline, t]), ...baseline, ...rest];
}

/**
 * Runs the suite: a fresh database with the 300 posts; Kiln with each backend and the bare Koa
 * baseline (serving Kiln's own index bytes) measured interleaved on every route; stampedes;
 * the memory bound; a Redis outage; uncached pages as the posts grow (bench/growth.ts). Every
 * server, schema and temp file is gone when it resolves.
 */
export async function runSuite(options: SuiteOptions): Promise<BenchResults> {
  const started = performance.now();
  const loadBefore = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
  const runId = randomBytes(4).toString('hex');
  const keyPrefix = (type: string) => `kiln-bench-${runId}-${type}:`;
  const servers: ServerProcess[] = [];
  const skipped: string[] = [];
  const kilns = new Map<BenchCacheType, KilnProcess>();
  const log = options.log;
  try {
    log(`importing posts into a fresh database in ${dir}`);
    const database = await prepareDatabase(join(dir, 'import'), options.postsFile);
    let backends = [...options.backends];
    if (backends.includes('redis') && !(await sharedRedisUp())) {
      if (process.env.CI) throw new Error('Redis is not answering on 127.0.0.1:6379 (required when CI is set)');
      console.warn('bench: WARNING no Redis on 127.0.0.1:6379; the redis rows are skipped');
      skipped.push('Kiln with CACHE_TYPE=redis: no Redis on 127.0.0.1:6379');
      backends = backends.filter((b) => b !== 'redis');
    }
    if (!backends.includes('null')) backends.unshift('null');
    const runs = (phase: SuitePhase, name: string): boolean => {
      if (!options.skip?.includes(phase)) return true;
      skipped.push(`${name}: left out of this run`);
      return false;
    };
    // Varnish in front of the memory Kiln, which purges it (deploy/varnish/run.sh).
    const wantsVarnish = backends.includes('memory') && runs('varnish', 'Kiln behind Varnish');
    const varnishPort = wantsVarnish && (await requireVarnish()) ? await freePort() : undefined;
    if (wantsVarnish && varnishPort === undefined) skipped.push('Kiln behind Varnish: varnishd or its xkey vmod is missing');
    log(`starting Kiln with ${backends.join(', ')}`);
    await Promise.all(
      backends.map(async (cacheType) => {
        const env = cacheType === 'memory' && varnishPort !== undefined ? purgedKilnEnv(varnishPort) : undefined;
        const kiln = await startKiln({ cacheType, database, dir: join(dir, cacheType), keyPrefix: keyPrefix(cacheType), env });
        servers.push(kiln);
        kilns.set(cacheType, kiln);
      }),
    );
    const memoryKiln = kilns.get('memory');
    const varnish = memoryKiln && varnishPort !== undefined ? await startVarnishFor(memoryKiln, varnishPort) : undefined;
    if (varnish) servers.push(varnish);
    const nullKiln = kilns.get('null');
    if (!nullKiln) throw new Error('the null-cache server did not start');
    const index = Buffer.from(await (await fetch(`${nullKiln.url}/`)).arrayBuffer());
    const bodyFile = join(dir, 'index.html');
    writeFileSync(bodyFile, index);
    const bare = await startBareKoa(bodyFile);
    servers.push(bare);
    log(`bare Koa answers the ${index.length} bytes of Kiln's index page`);

    // `/` asked for br, gzip: Kiln's stored forms beside koa-compress compressing per request.
    const koaCompress = options.routes.includes('/') && runs('compression', 'Compression rows') ? await startBareKoaCompress(bodyFile) : undefined;
    if (koaCompress) servers.push(koaCompress);
    const measured = options.backends.filter((b) => kilns.has(b));
    const targets: Target[] = options.routes.flatMap((path) =>
      measureOrder([
        { name: 'bare koa', server: bare, path: '/', baseline: true },
        ...measured.map((b): Target => {
          const kiln = kilns.get(b) as KilnProcess;
          return { name: `kiln ${b}`, server: kiln, path, kiln };
        }),
        ...(varnish && path === '/' ? [{ name: 'varnish → kiln memory', server: varnish, path, cacheHeader: 'x-varnish-cache' }] : []),
        ...(koaCompress && path === '/' ? compressionTargets(new Map([...kilns].filter(([b]) => measured.includes(b))), koaCompress) : []),
      ]),
    );
    log(`throughput: ${targets.length} targets × ${options.rounds} rounds × ${options.durationS} s (${options.tool})`);
    const results = await measureInterleaved(targets, options);
    const sizeSource = kilns.get('memory') ?? kilns.get('redis');
    const compression = koaCompress && sizeSource ? await compressionSizes(sizeSource.url, koaCompress.url) : undefined;
    const bareResult = mergeResults('bare koa', results.filter((r) => r.name === 'bare koa'));
    const rows = results.filter((r) => r.name !== 'bare koa');

    const stampedes: StampedeResult[] = [];
    if (runs('stampede', 'Stampede')) {
      log(`stampede: ${options.stampede} concurrent requests`);
      for (const b of ['memory', 'redis'] as const) {
        const kiln = kilns.get(b);
        if (kiln) stampedes.push(...(await stampede(kiln, b, options.stampede)));
      }
    }

    let varnishFreshness: VarnishFreshness | undefined;
    if (varnish) {
      log(`varnish: ${options.varnishEdits} author saves, 303 to the first fresh read`);
      varnishFreshness = await freshnessAfterSave(varnish.url, '/posts/150', options.varnishEdits);
    }

    let outage: OutageResult | undefined;
    if (runs('outage', 'Redis outage')) {
      log('redis outage');
      try {
        outage = await redisOutage(nullKiln, { database, dir: join(dir, 'outage'), keyPrefix: keyPrefix('outage') }, options);
      } catch (error) {
        if (process.env.CI) throw error;
        console.warn(`bench: WARNING redis outage skipped: ${error instanceof Error ? error.message : String(error)}`);
        skipped.push('Redis outage: no redis-server binary');
      }
    }

    let memory: MemoryBoundResult | undefined;
    if (runs('memory', 'Memory bound')) {
      log(`memory bound: ${options.memoryPages} pages, CACHE_MAX_BYTES=${options.memoryMaxBytes}`);
      memory = await memoryBound(bodyFile, options.memoryPages, options.memoryMaxBytes);
    }

    let growth: GrowthResult | undefined;
    if (runs('growth', 'Data growth')) {
      log(`data growth: ${options.growth.sizes.join(' / ')} posts on ${options.growth.databases.join(', ')}`);
      growth = await measureGrowth({ ...options.growth, log });
    }

    const { log: _log, ...shape } = options;
    return {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadBefore, loadAfter: loadavg()[0] },
      options: shape,
      bare: bareResult,
      rows,
      stampede: stampedes,
      memory,
      outage,
      varnish: varnishFreshness,
      compression,
      growth,
      skipped,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    // Our keys only: the shared Redis is emptied of this run's prefix, never flushed.
    const usedRedis = kilns.has('redis');
    await kilns.get('redis')?.control({ type: 'clear' }).catch(() => undefined);
    await Promise.allSettled(servers.map((s) => s.stop()));
    if (usedRedis) await dropRedisPrefix(keyPrefix('redis')).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
