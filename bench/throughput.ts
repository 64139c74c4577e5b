import { readCpuMs, readRss, runLoad, type LoadResult, type LoadTool } from './wrk.ts';
import type { KilnProcess, ServerProcess } from './servers.ts';
import { median } from './stats.ts';

/** One server under load on one route. */
export interface Target {
  /** Row label, e.g. `bare koa` or `kiln memory`. */
  name: string;
  server: ServerProcess;
  path: string;
  /** Present for Kiln servers: lets the run count renders during the measurement. */
  kiln?: KilnProcess;
  /** The response header whose value is reported as `xCache` (default `X-Cache`, for Kiln servers only). */
  cacheHeader?: string;
  /** Request headers sent with every request (e.g. `Accept-Encoding: br, gzip`); default none. */
  headers?: Readonly<Record<string, string>>;
  /** Whether this is the baseline the other rows are compared with, round by round (bare Koa). */
  baseline?: boolean;
}

/** Medians over the rounds of one target. */
export interface TargetResult {
  name: string;
  path: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time (all threads) per request served, in microseconds. */
  cpuUs: number;
  /** Resident set size after the round's load, in bytes. */
  rss: number;
  /** Bytes received per response, headers included (NaN in results kept from before it was measured). */
  bytesPerResponse: number;
  /** `X-Cache` (or the target's `cacheHeader`) of a request sent before measuring (after warm-up), or `-` for the bare server. */
  xCache: string;
  /** Page templates rendered while measuring (0 for a page served from the cache); -1 when unknown. */
  renders: number;
  /** Page cache results while measuring, from Kiln's /metrics (empty when unknown). */
  pageResults: Record<string, number>;
  errors: number;
  badStatus: number;
  rounds: number;
  tool: LoadTool;
  /**
   * Each round's baseline req/s beside this row: the mean of the baseline measured just before it
   * and just after it in that round (the one of them a round has, at its edges). Absent for the
   * baseline itself, and from runs without one.
   */
  baselineRps?: number[];
  /** Each round's baseline p99 beside this row, taken as {@link baselineRps} is. */
  baselineP99Ms?: number[];
  /** Every round's figure, for merging targets (the bare baseline measured in several places). */
  samples: { rps: number[]; p50Ms: number[]; p99Ms: number[]; cpuUs: number[]; rss: number[] };
}

/** How the throughput phase runs. */
export interface ThroughputOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  tool: LoadTool;
  /** Progress lines. */
  log: (line: string) => void;
}

const PAGE_RESULT = /^kiln_page_cache_results_total\{result="([A-Z]+)"\} (\d+)$/gm;

/** Kiln's page cache results so far (HIT, MISS, …) from its /metrics endpoint; empty when it has none. */
export async function pageResults(baseUrl: string): Promise<Record<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  const counts: Record<string, number> = {};
  if (response.status !== 200) return counts;
  for (const [, result, count] of text.matchAll(PAGE_RESULT)) counts[result] = Number(count);
  return counts;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) if (count - (before[name] ?? 0) > 0) out[name] = count - (before[name] ?? 0);
  return out;
}

function add(into: Record<string, number>, more: Record<string, number>): void {
  for (const [name, count] of Object.entries(more)) into[name] = (into[name] ?? 0) + count;
}

/** The `X-Cache` header (or `header`) of one GET with `headers` (after checking it answers 200). */
export async function probe(url: string, header = 'x-cache', headers: Readonly<Record<string, string>> = {}): Promise<string> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  return response.headers.get(header) ?? '-';
}

/**
 * Measures every target interleaved: after one warm-up per target, each round loads the
 * targets one after another in the given order (A, B, C, A, B, C, …), so slow drift of a shared
 * machine touches all of them alike; each figure is the median of its rounds. A target may come
 * more than once in a round (a baseline between the rows it brackets); each place is its own
 * result, and the target is warmed up once.
 */
export async function measureInterleaved(targets: readonly Target[], options: ThroughputOptions): Promise<TargetResult[]> {
  const load = (target: Target, seconds: number) =>
    runLoad(target.server.url + target.path, { connections: options.connections, durationS: seconds, tool: options.tool, headers: target.headers });
  const samples = targets.map(() => ({ loads: [] as LoadResult[], rss: [] as number[], cpuUs: [] as number[], renders: 0, known: true, pages: {} as Record<string, number> }));
  const xCache: string[] = [];
  for (const [i, target] of targets.entries()) {
    await probe(target.server.url + target.path, undefined, target.headers);
    if (options.warmupS > 0 && targets.indexOf(target) === i) await load(target, options.warmupS);
    xCache.push(target.kiln || target.cacheHeader ? await probe(target.server.url + target.path, target.cacheHeader, target.headers) : '-');
  }
  for (let round = 1; round <= options.rounds; round++) {
    options.log(`round ${round}/${options.rounds}`);
    for (const [i, target] of targets.entries()) {
      const before = target.kiln ? (await target.kiln.control({ type: 'stats' })).renders : 0;
      const pagesBefore = target.kiln ? await pageResults(target.server.url) : {};
      const cpuBefore = readCpuMs(target.server.pid);
      const result = await load(target, options.durationS);
      samples[i].cpuUs.push(((readCpuMs(target.server.pid) - cpuBefore) * 1000) / Math.max(1, result.requests));
      samples[i].rss.push(readRss(target.server.pid));
      if (target.kiln) {
        samples[i].renders += (await target.kiln.control({ type: 'stats' })).renders - before;
        add(samples[i].pages, difference(await pageResults(target.server.url), pagesBefore));
      } else samples[i].known = false;
      samples[i].loads.push(result);
      const cpu = samples[i].cpuUs[samples[i].cpuUs.length - 1];
      options.log(`  ${target.name.padEnd(20)} ${target.path.padEnd(14)} ${result.rps.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms.toFixed(2).padStart(7)} ms  ${cpu.toFixed(0).padStart(5)} µs CPU/req`);
    }
  }
  const baselineBeside = (i: number, round: number, figure: 'rps' | 'p99Ms'): number => {
    const near = [targets.findLastIndex((t, j) => j < i && t.baseline), targets.findIndex((t, j) => j > i && t.baseline)].filter((j) => j >= 0);
    return near.reduce((sum, j) => sum + samples[j].loads[round][figure], 0) / near.length;
  };
  const hasBaseline = targets.some((t) => t.baseline);
  return targets.map((target, i) => {
    const { loads, rss, cpuUs, renders, known, pages } = samples[i];
    return {
      name: target.name,
      path: target.path,
      rps: median(loads.map((l) => l.rps)),
      p50Ms: median(loads.map((l) => l.p50Ms)),
      p99Ms: median(loads.map((l) => l.p99Ms)),
      cpuUs: median(cpuUs),
      rss: median(rss),
      bytesPerResponse: median(loads.map((l) => l.bytesPerResponse)),
      xCache: xCache[i],
      renders: known ? renders : -1,
      pageResults: pages,
      errors: loads.reduce((sum, l) => sum + l.errors, 0),
      badStatus: loads.reduce((sum, l) => sum + l.badStatus, 0),
      rounds: loads.length,
      tool: options.tool,
      baselineRps: hasBaseline && !target.baseline ? loads.map((_, round) => baselineBeside(i, round, 'rps')) : undefined,
      baselineP99Ms: hasBaseline && !target.baseline ? loads.map((_, round) => baselineBeside(i, round, 'p99Ms')) : undefined,
      samples: { rps: loads.map((l) => l.rps), p50Ms: loads.map((l) => l.p50Ms), p99Ms: loads.map((l) => l.p99Ms), cpuUs, rss },
    };
  });
}

/** One result from several of the same target (medians over all their rounds). */
export function mergeResults(name: string, results: readonly TargetResult[]): TargetResult {
  const all = (pick: (r: TargetResult) => number[]) => results.flatMap(pick);
  const samples = {
    rps: all((r) => r.samples.rps),
    p50Ms: all((r) => r.samples.p50Ms),
    p99Ms: all((r) => r.samples.p99Ms),
    cpuUs: all((r) => r.samples.cpuUs),
    rss: all((r) => r.samples.rss),
  };
  const pages: Record<string, number> = {};
  for (const r of results) add(pages, r.pageResults);
  return {
    name,
    path: results[0]?.path ?? '/',
    rps: median(samples.rps),
    p50Ms: median(samples.p50Ms),
    p99Ms: median(samples.p99Ms),
    cpuUs: median(samples.cpuUs),
    rss: median(samples.rss),
    bytesPerResponse: median(results.map((r) => r.bytesPerResponse)),
    xCache: results[0]?.xCache ?? '-',
    renders: results.some((r) => r.renders < 0) ? -1 : results.reduce((sum, r) => sum + r.renders, 0),
    pageResults: pages,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    badStatus: results.reduce((sum, r) => sum + r.badStatus, 0),
    rounds: samples.rps.length,
    tool: results[0]?.tool ?? 'wrk',
    samples,
  };
}
