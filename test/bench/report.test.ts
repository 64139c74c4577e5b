import { describe, expect, it } from 'vitest';
import { verdicts } from '../../bench/report.ts';
import type { BenchResults } from '../../bench/suite.ts';
import type { TargetResult } from '../../bench/throughput.ts';
import { pairedRatio } from '../../bench/stats.ts';

/** A throughput row with these req/s, one per round. */
function measured(name: string, rps: number[]): TargetResult {
  const sorted = [...rps].sort((a, b) => a - b);
  const same = rps.map(() => 1);
  return {
    name, path: '/', rps: sorted[sorted.length >> 1], p50Ms: 1, p99Ms: 1, cpuUs: 40, rss: 0, bytesPerResponse: 7000,
    xCache: name === 'bare koa' ? '-' : 'HIT', renders: 0, pageResults: {}, errors: 0, badStatus: 0, rounds: rps.length, tool: 'wrk',
    samples: { rps, p50Ms: same, p99Ms: same, cpuUs: same.map(() => 40), rss: same.map(() => 0) },
  };
}

/** A run of three rounds: bare Koa's req/s beside the memory hit in each round (none: a run from before rows were paired), and the hit's. */
function results(baselineRps: number[] | undefined, memory: number[]): BenchResults {
  const bare = measured('bare koa', [20_000, 30_000, 30_000]);
  return {
    date: '2026-12-04T00:00:00Z', machine: { cores: 2, cpu: 'test', node: 'v20', loadBefore: 0, loadAfter: 0 },
    options: {} as BenchResults['options'], bare, rows: [{ ...measured('kiln memory', memory), baselineRps }],
    stampede: [], memory: undefined, outage: undefined, skipped: [], seconds: 1,
  };
}

const memoryTarget = (r: BenchResults) => verdicts(r).find((v) => v.target.startsWith('memory HIT on / ≥'));
const p99Target = (r: BenchResults) => verdicts(r).find((v) => v.target.startsWith('memory HIT on / p99'));

/** A run whose bare Koa and memory hit had these p99s (ms) round by round, the bare ones around the hit given or not. */
function tails(bareP99: number[], memoryP99: number[], baselineP99Ms: number[] | undefined): BenchResults {
  const run = results([20_000, 20_000, 20_000], [20_000, 20_000, 20_000]);
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  run.bare = { ...run.bare, p99Ms: sorted(bareP99), samples: { ...run.bare.samples, p99Ms: bareP99 } };
  const [memory] = run.rows;
  run.rows = [{ ...memory, p99Ms: sorted(memoryP99), baselineP99Ms, samples: { ...memory.samples, p99Ms: memoryP99 } }];
  return run;
}

describe('the throughput targets', () => {
  it('pair each round: the median of same-round ratios', () => {
    expect(pairedRatio([9, 18, 30], [10, 20, 60])).toBe(0.9);
    expect(pairedRatio([9], [10, 20])).toBeNaN();
    expect(pairedRatio([], [])).toBeNaN();
  });

  it('judge a cached row on its same-round ratios to bare Koa, not on the ratio of medians over the run', () => {
    // The host was slow for bare Koa in round 1 and for both in round 2; rounds 1 and 3 give 0.95×.
    const run = results([20_000, 30_000, 30_000], [19_000, 19_000, 28_500]);
    expect(memoryTarget(run)).toMatchObject({ met: true });
    expect(memoryTarget(run)?.measured).toMatch(/^0\.95× \(median of 3 same-round ratios; the medians' ratio 0\.63×/);
    // Slower than bare Koa by a third in two rounds of three.
    expect(memoryTarget(results([20_000, 30_000, 30_000], [19_000, 20_000, 20_000]))).toMatchObject({ met: false });
  });

  it('fall back to the ratio of the medians for results kept from before rounds were paired', () => {
    const run = results(undefined, [19_000, 28_500, 28_500]);
    expect(memoryTarget(run)?.measured).toMatch(/^0\.95× \(28,500 vs 30,000 req\/s/);
    expect(memoryTarget(results(undefined, [19_000, 26_000, 26_000]))).toMatchObject({ met: false });
  });

  it("judge the memory hit's p99 round by round too, on the bare Koa around it", () => {
    // Rounds 1 and 3 were slow spells for both; the ratio of medians (2.5 over 1.1 ms) would say 2.27×.
    const paired = tails([3, 1.1, 1.1], [3.3, 1.2, 2.5], [3, 1.1, 2.4]);
    expect(p99Target(paired)).toMatchObject({ met: true });
    expect(p99Target(paired)?.measured).toMatch(/^1\.09× \(median of 3 same-round ratios; the medians' ratio 2\.27×/);
    // A tail longer by half than the bare Koa around it, in two rounds of three.
    expect(p99Target(tails([1, 1, 1], [1.5, 1, 1.5], [1, 1, 1]))).toMatchObject({ met: false });
    // Results kept from before rounds were paired: the ratio of the medians.
    expect(p99Target(tails([3, 1.1, 1.1], [3.3, 1.2, 2.5], undefined))).toMatchObject({ met: false, measured: expect.stringMatching(/^2\.27× \(2\.50 vs 1\.10 ms\)/) });
  });
});
