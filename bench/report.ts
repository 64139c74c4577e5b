import { readFileSync } from 'node:fs';
import { COMPRESSION_ROWS, compressionTable, compressionVerdicts } from './compression.ts';
import { GROWTH_CEILING, IMPORT_FLOOR, growthMarkdown, growthRatios } from './growth-report.ts';
import type { BenchResults } from './suite.ts';
import { median, pairedRatio, ratio } from './stats.ts';
import type { TargetResult } from './throughput.ts';

/**
 * BENCHMARKS.md from one run: the command, the machine, every table, the verdict on each of
 * the performance targets (BENCHMARKS.md's table) computed from this run's ratios, and the hand-written notes (bench/notes.md).
 */

const MB = 1024 * 1024;
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');
const mb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / MB).toFixed(0)} MB` : '–');

/**
 * The stated overhead of the memory bound: peak RSS may grow by the bound plus this many bytes
 * (V8's young generation and heap slack, whatever the bound) plus {@link MEMORY_SLACK_FACTOR}
 * of the bound (memory of evicted values that the allocator keeps for reuse instead of giving it
 * back to the system: at most about as much as it ever held live).
 */
export const MEMORY_SLACK_BYTES = 64 * 1024 * 1024;
/** See {@link MEMORY_SLACK_BYTES}. */
export const MEMORY_SLACK_FACTOR = 1;

/** The peak RSS growth the memory-bound run allows for a byte bound. */
export function allowedGrowth(maxBytes: number): number {
  return maxBytes * (1 + MEMORY_SLACK_FACTOR) + MEMORY_SLACK_BYTES;
}

/** One performance target, judged on this run. */
export interface Verdict {
  target: string;
  measured: string;
  met: boolean | undefined;
}

function row(results: BenchResults, name: string, path: string): TargetResult | undefined {
  return results.rows.find((r) => r.name === name && r.path === path);
}

/** The performance targets, each judged from this run's figures (undefined: not measured in this run). */
export function verdicts(results: BenchResults): Verdict[] {
  const bare = results.bare;
  const out: Verdict[] = [];
  // A cached row on `/` is judged on the median of its same-round ratios to the bare Koa measured
  // just before and after it, so a slow spell of the host touches both, in its req/s and in its
  // tail (results kept from before rows were paired fall back to the ratio of the medians, which
  // the tables show). Returns the ratio judged and how it was taken, for the verdict's text.
  const overBare = (figure: 'rps' | 'p99Ms', r: TargetResult): [number, string] => {
    const medians = ratio(r[figure], bare[figure]);
    const paired = pairedRatio(r.samples[figure], (figure === 'rps' ? r.baselineRps : r.baselineP99Ms) ?? []);
    if (Number.isNaN(paired)) return [medians, ''];
    return [paired, `median of ${r.samples[figure].length} same-round ratios; the medians' ratio ${times(medians)}: `];
  };
  const againstBare = (target: string, r: TargetResult | undefined, floor: number) => {
    if (!r) return out.push({ target, measured: 'not measured', met: undefined });
    const [rps, how] = overBare('rps', r);
    out.push({ target, measured: `${times(rps)} (${how}${fmt(r.rps)} vs ${fmt(bare.rps)} req/s; X-Cache ${r.xCache})`, met: r.xCache === 'HIT' && rps >= floor });
  };
  const hit = (backend: string, floor: number, p99Ceiling?: number) => {
    const r = row(results, `kiln ${backend}`, '/');
    againstBare(`${backend} HIT on / ≥ ${floor.toFixed(2)}× bare Koa req/s`, r, floor);
    if (r && p99Ceiling !== undefined) {
      const [p99, how] = overBare('p99Ms', r);
      out.push({ target: `${backend} HIT on / p99 ≤ ${p99Ceiling.toFixed(1)}× bare Koa p99`, measured: `${times(p99)} (${how}${fmt(r.p99Ms, 2)} vs ${fmt(bare.p99Ms, 2)} ms)`, met: p99 <= p99Ceiling });
    }
  };
  hit('memory', 0.9, 1.2);
  hit('redis', 0.8);
  hit('filesystem', 0.5);
  const nullIndex = row(results, 'kiln null', '/');
  const memoryIndex = row(results, 'kiln memory', '/');
  if (nullIndex && memoryIndex) {
    out.push({
      target: 'uncached (null) index: profiled and fixed; ratio to the cached page reported',
      measured: `${times(ratio(nullIndex.rps, memoryIndex.rps))} of the memory HIT (${fmt(nullIndex.rps)} req/s, ${fmt(nullIndex.cpuUs)} µs CPU per request)`,
      met: undefined,
    });
  }
  for (const s of results.stampede) {
    out.push({ target: `stampede, ${s.backend}, ${s.state} page: 1 render for ${s.requests} requests`, measured: `${s.renders} render(s), p99 ${fmt(s.p99Ms, 1)} ms`, met: s.renders === 1 && s.failed === 0 });
  }
  const m = results.memory;
  if (m) {
    const growth = m.rssPeak - m.rssBefore;
    out.push({
      target: `memory bound: ${fmt(m.pages)} pages, peak RSS growth ≤ bound + ${mb(MEMORY_SLACK_BYTES)} + ${MEMORY_SLACK_FACTOR * 100}% of the bound`,
      measured: `${mb(growth)} peak growth (${mb(m.rssAfter - m.rssBefore)} after GC) for a ${mb(m.maxBytes)} bound: allowed ${mb(allowedGrowth(m.maxBytes))}`,
      met: growth <= allowedGrowth(m.maxBytes),
    });
  }
  const varnish = row(results, 'varnish → kiln memory', '/');
  if (varnish) {
    const memory = row(results, 'kiln memory', '/');
    out.push({
      target: 'Varnish HIT on /: req/s and p99 beside Kiln memory HIT and bare Koa',
      measured: `${times(ratio(varnish.rps, bare.rps))} bare Koa, ${times(ratio(varnish.rps, memory?.rps ?? Number.NaN))} Kiln memory HIT req/s (${fmt(varnish.rps)} req/s); p99 ${fmt(varnish.p99Ms, 2)} ms, ${times(ratio(varnish.p99Ms, bare.p99Ms))} bare (X-Varnish-Cache ${varnish.xCache})`,
      met: undefined,
    });
  }
  if (results.varnish) {
    const v = results.varnish;
    out.push({
      target: "author's 303 → first read through Varnish showing the save",
      measured: `median ${fmt(v.medianMs, 1)} ms, max ${fmt(v.maxMs, 1)} ms over ${v.edits} saves; fresh on the first read ${v.freshOnFirstRead}/${v.edits}`,
      met: v.freshOnFirstRead === v.edits,
    });
  }
  if (results.growth && results.growth.sizes.length > 1) {
    const g = results.growth;
    const smallest = g.sizes[0];
    const largest = g.sizes[g.sizes.length - 1];
    for (const database of g.databases) {
      const worst = growthRatios(g).find((r) => r.database === database);
      out.push({
        target: `${database}: every uncached page at ${fmt(largest)} posts ≤ ${GROWTH_CEILING}× its time at ${fmt(smallest)}`,
        measured: worst ? `slowest ${times(worst.ratio)} (${worst.page})` : 'not measured',
        met: worst === undefined ? undefined : worst.ratio <= GROWTH_CEILING,
      });
      const rate = g.imports.find((i) => i.database === database && i.size === largest)?.rate ?? Number.NaN;
      out.push({ target: `${database}: import of ${fmt(largest)} posts ≥ ${fmt(IMPORT_FLOOR)} posts/s`, measured: `${fmt(rate)} posts/s`, met: rate >= IMPORT_FLOOR });
    }
  }
  for (const [backend, floor] of [['memory', 0.9], ['redis', 0.8]] as const) {
    againstBare(`${backend} HIT on / with Accept-Encoding: br, gzip ≥ ${floor.toFixed(2)}× bare Koa identity req/s`, row(results, COMPRESSION_ROWS[backend], '/'), floor);
  }
  out.push(...compressionVerdicts(bare, results.rows, results.compression));
  if (results.outage) {
    const { nullCache, redisDown } = results.outage;
    out.push({
      target: 'Redis outage: cost reported as a ratio to CACHE_TYPE=null',
      measured: `${times(ratio(redisDown.rps, nullCache.rps))} req/s, p99 ${times(ratio(redisDown.p99Ms, nullCache.p99Ms))}`,
      met: undefined,
    });
  }
  return out;
}

/** A row's name as the tables show it (`Kiln memory`). */
const rowLabel = (r: TargetResult): string => r.name.replace(/^kiln /, 'Kiln ');

function throughputTable(results: BenchResults): string[] {
  const bare = results.bare;
  const lines = [
    '| Server | Route | X-Cache | req/s | × bare | p50 ms | p99 ms | p99 × bare | CPU µs/req | CPU × bare | RSS |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const line = (r: TargetResult, label: string) =>
    `| ${label} | \`${r.path}\` | ${r.xCache} | ${fmt(r.rps)} | ${times(ratio(r.rps, bare.rps))} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${times(ratio(r.p99Ms, bare.p99Ms))} | ${fmt(r.cpuUs)} | ${times(ratio(r.cpuUs, bare.cpuUs))} | ${mb(r.rss)} |`;
  lines.push(line(bare, '**bare Koa** (the limit)'));
  for (const r of results.rows) lines.push(line(r, rowLabel(r)));
  return lines;
}

/**
 * Each round's req/s of the Kiln rows on `/` over the bare Koa measured just before and after
 * it: the spread of one server over a run, and (their median) what the targets judge.
 */
function roundsTable(results: BenchResults): string[] {
  const rows = results.rows.filter((r) => r.path === '/' && r.name.startsWith('kiln ') && r.name !== 'kiln null' && r.baselineRps !== undefined);
  if (rows.length === 0) return [];
  const rounds = rows[0].samples.rps.map((_, i) => `round ${i + 1}`);
  const lines = [
    '### Round by round on `/`',
    '',
    "Each round's req/s over the mean req/s of the bare Koa measured just before and just after it in that round: the spread of one server over a run. The median of these is what the targets below judge.",
    '',
    `| Server | ${rounds.join(' | ')} | median | lowest–highest |`,
    `| --- | ${rounds.map(() => '---:').join(' | ')} | ---: | ---: |`,
  ];
  for (const r of rows) {
    const ratios = r.samples.rps.map((rps, i) => ratio(rps, r.baselineRps?.[i] ?? Number.NaN));
    lines.push(`| ${rowLabel(r)} | ${ratios.map(times).join(' | ')} | ${times(median(ratios))} | ${times(Math.min(...ratios))}–${times(Math.max(...ratios))} |`);
  }
  return ['', ...lines];
}

function memorySection(results: BenchResults): string[] {
  const m = results.memory;
  if (!m) return ['Not measured in this run.'];
  return [
    `${fmt(m.pages)} distinct index pages stored as the page cache stores them (body + tagged record) through a Cache over the memory backend with CACHE_MAX_BYTES=${results.options.memoryMaxBytes}, in a process of its own (\`node --expose-gc\`, RSS after a full GC).`,
    '',
    '| Pages | Bound | Entries kept | Bytes counted | RSS before | RSS after (GC) | Peak RSS | Peak growth | Heap used after |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${fmt(m.pages)} | ${mb(m.maxBytes)} | ${fmt(m.entries)} | ${mb(m.countedBytes)} | ${mb(m.rssBefore)} | ${mb(m.rssAfter)} | ${mb(m.rssPeak)} | ${mb(m.rssPeak - m.rssBefore)} | ${mb(m.heapUsedAfter)} |`,
  ];
}

/** The whole BENCHMARKS.md text. */
export function renderReport(results: BenchResults, command: string, notesFile?: string): string {
  const o = results.options;
  const { machine } = results;
  const out: string[] = [
    '# Kiln benchmarks',
    '',
    `Generated by \`${command}\` on ${results.date} in ${fmt(results.seconds)} s. Do not edit by hand: the notes come from \`bench/notes.md\`.`,
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load average ${machine.loadBefore.toFixed(2)} before and ${machine.loadAfter.toFixed(2)} after the run (other work on the machine shows here).`,
    '',
    `Load: ${o.tool === 'wrk' ? 'wrk (1 thread)' : 'the Node load generator bench/load.ts (wrk not installed)'}, ${o.connections} keep-alive connections, ${o.durationS} s per measurement after ${o.warmupS} s of warm-up, ${o.rounds} interleaved round(s); each figure is the median of its rounds. Kiln runs in production mode (one process, toolbar off) on a fresh SQLite database with the 300 posts of \`../shared/bench/posts.json\` (generated ones of the same shape, \`bench/posts-data.ts\`, where it is absent); the bare Koa server answers the exact bytes of Kiln's index page. CPU µs/req is the server's CPU time (all threads, from /proc) per request served: on a shared machine it is steadier than req/s.${o.quick ? ' **Quick run: figures are a smoke test only.**' : ''}`,
    '',
    '## Throughput',
    '',
    ...throughputTable(results),
    ...roundsTable(results),
    '',
    '## Compression',
    '',
    'The index page `/` asked for with `Accept-Encoding: br, gzip` (interleaved with the rows above): Kiln answers a hit with the brotli form stored with the page (made once, at store), koa-compress (its defaults) compresses the same bytes on every request. Ratios are to the bare Koa server writing the identity bytes.',
    '',
    ...compressionTable(results.bare, results.rows, results.compression),
    '',
    '## Stampede',
    '',
    `${o.stampede} concurrent GET / (each on its own connection) on a cold page (cache emptied) and on an expired one (the server's clock moved past the index timeout). Renders are counted by the server (calls to \`ctx.render\`).`,
    '',
    '| Backend | Page | Requests | Renders | X-Cache | Not 200 | p50 ms | p99 ms |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |',
    ...results.stampede.map(
      (s) => `| ${s.backend} | ${s.state} | ${s.requests} | ${s.renders} | ${Object.entries(s.xCache).map(([k, v]) => `${k} ${v}`).join(', ')} | ${s.failed} | ${fmt(s.p50Ms, 1)} | ${fmt(s.p99Ms, 1)} |`,
    ),
    '',
    '## Memory bound',
    '',
    ...memorySection(results),
    '',
    '## Redis outage',
    '',
  ];
  if (results.outage) {
    const { nullCache, redisDown } = results.outage;
    out.push(
      'Kiln with CACHE_TYPE=redis on a private redis-server that was then stopped, against Kiln with CACHE_TYPE=null, on `/`, interleaved.',
      '',
      '| Server | req/s | × null | p50 ms | p99 ms | p99 × null | X-Cache |',
      '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
      `| Kiln null | ${fmt(nullCache.rps)} | 1.00× | ${fmt(nullCache.p50Ms, 2)} | ${fmt(nullCache.p99Ms, 2)} | 1.00× | ${nullCache.xCache} |`,
      `| Kiln redis (stopped) | ${fmt(redisDown.rps)} | ${times(ratio(redisDown.rps, nullCache.rps))} | ${fmt(redisDown.p50Ms, 2)} | ${fmt(redisDown.p99Ms, 2)} | ${times(ratio(redisDown.p99Ms, nullCache.p99Ms))} | ${redisDown.xCache} |`,
    );
  } else out.push('Not measured in this run.');
  out.push('', '## Behind Varnish', '');
  if (results.varnish) {
    const v = results.varnish;
    out.push(
      'Varnish 7 with `deploy/varnish/kiln.vcl` (started by `deploy/varnish/run.sh`) in front of the memory-cache Kiln, which purges it by tag (`HTTP_CACHE_PURGE_URLS`). Its `/` row in the throughput table is a Varnish hit (CPU and RSS of the varnishd cache process). Then the author, signed in through Varnish, saves `/posts/150`; the time runs from the end of the 303 to the end of the first anonymous read through Varnish that shows the new title.',
      '',
      '| Saves | Median ms | Max ms | Fresh on the first read |',
      '| ---: | ---: | ---: | ---: |',
      `| ${v.edits} | ${fmt(v.medianMs, 1)} | ${fmt(v.maxMs, 1)} | ${v.freshOnFirstRead}/${v.edits} |`,
    );
  } else out.push('Not measured in this run.');
  out.push('', '## Data growth', '');
  if (results.growth) out.push(...growthMarkdown(results.growth, command));
  else out.push('Not measured in this run.');
  out.push('', '## Targets (this run)', '', '| Target | Measured | Met |', '| --- | --- | --- |');
  for (const v of verdicts(results)) out.push(`| ${v.target} | ${v.measured} | ${v.met === undefined ? 'reported' : v.met ? 'yes' : '**no**'} |`);
  if (results.skipped.length > 0) out.push('', `Skipped: ${results.skipped.join('; ')}.`);
  const errors = [results.bare, ...results.rows].filter((r) => r.errors > 0 || r.badStatus > 0);
  if (errors.length > 0) out.push('', `Errors during load: ${errors.map((r) => `${r.name} ${r.path}: ${r.errors} socket errors, ${r.badStatus} non-2xx/3xx`).join('; ')}.`);
  if (notesFile) {
    try {
      out.push('', readFileSync(notesFile, 'utf8').trim());
    } catch {
      // No notes yet: the tables stand alone.
    }
  }
  return `${out.join('\n')}\n`;
}
