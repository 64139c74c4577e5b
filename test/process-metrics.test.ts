import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { processFamilies } from '../src/process-metrics.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** How many times a fresh process's main thread wakes in `seconds` of idling after one read of the process metrics. */
function idleWakeUpsPerSecond(seconds: number): number {
  const script = `
    import { readFileSync } from 'node:fs';
    import { processFamilies } from './src/process-metrics.ts';
    const switches = () => [...readFileSync('/proc/self/status', 'utf8').matchAll(/ctxt_switches:\\s+(\\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    processFamilies();
    const before = switches();
    setTimeout(() => process.stdout.write(String(switches() - before)), ${seconds * 1000});
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`the idle process failed: ${run.stderr}`);
  return Number(run.stdout) / seconds;
}

describe('process metrics', () => {
  it('give the event loop delay since the previous read', () => {
    const names = processFamilies().map((family) => family.name);
    expect(names).toEqual(expect.arrayContaining(['nodejs_eventloop_lag_mean_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds', 'process_cpu_seconds_total']));
  });

  it.runIf(process.platform === 'linux')('leave an idle server asleep: the delay is sampled ten times a second, not a hundred', () => {
    // About 10 a second from the sampling timer, plus a few of the process's own; Node's 10 ms default gave about 100.
    expect(idleWakeUpsPerSecond(2)).toBeLessThan(40);
  });
});
