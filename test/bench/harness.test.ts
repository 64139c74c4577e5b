import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePosts } from '../../bench/posts-data.ts';
import { renderReport, verdicts } from '../../bench/report.ts';
import { quickOptions, runSuite, sharedRedisUp } from '../../bench/suite.ts';
import { parseNodeLoaderOutput, parseWrkOutput } from '../../bench/wrk.ts';
import { requireVarnish } from '../support/services.ts';

// The benchmark harness itself (npm run bench), run end to end at a tiny size so it cannot rot:
// every phase starts real servers, loads them from another process and reports. Figures from
// such a short run mean nothing; what is checked is that each phase ran and its facts hold.

describe('parseWrkOutput()', () => {
  it('reads the summary line bench/wrk-report.lua makes wrk print', () => {
    const text = [
      'Running 5s test @ http://127.0.0.1:1/',
      'WRKJSON {"requests":50000,"durationUs":5000000,"bytes":1,"p50Us":1500,"p99Us":9000,"maxUs":20000,' +
        '"connectErrors":0,"readErrors":1,"writeErrors":0,"statusErrors":3,"timeouts":2}',
    ].join('\n');
    expect(parseWrkOutput(text)).toEqual({ rps: 10_000, p50Ms: 1.5, p99Ms: 9, requests: 50_000, errors: 3, badStatus: 3, tool: 'wrk' });
  });

  it('refuses output without a summary', () => {
    expect(() => parseWrkOutput('unable to connect')).toThrow(/no summary/);
    expect(() => parseNodeLoaderOutput('')).toThrow(/no summary/);
  });
});

describe('npm run bench -- --quick', () => {
  // Generated posts, never the shared file beside the repository: the test stands alone.
  const dir = mkdtempSync(join(tmpdir(), 'kiln-harness-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every phase and reports them', { timeout: 120_000 }, async () => {
    const postsFile = join(dir, 'posts.json');
    writeFileSync(postsFile, JSON.stringify(generatePosts(300)));
    const redis = await sharedRedisUp();
    const varnish = await requireVarnish();
    if (!redis && !process.env.CI) console.warn('harness test: WARNING no Redis on 127.0.0.1:6379, the redis rows are skipped');
    const lines: string[] = [];
    const options = {
      ...quickOptions((line: string) => lines.push(line)),
      warmupS: 0,
      routes: ['/'],
      stampede: 20,
      memoryPages: 300,
      memoryMaxBytes: '1MB',
      postsFile,
    };
    const results = await runSuite(options);

    expect(results.bare.rps).toBeGreaterThan(0);
    const backends = redis ? ['null', 'memory', 'filesystem', 'redis'] : ['null', 'memory', 'filesystem'];
    expect(results.rows.map((r) => r.name)).toEqual([...backends.map((b) => `kiln ${b}`), ...(varnish ? ['varnish → kiln memory'] : [])]);
    for (const row of results.rows) {
      expect(row.rps, row.name).toBeGreaterThan(0);
      expect(row.errors + row.badStatus, row.name).toBe(0);
      // Cached pages are measured as hits: nothing rendered while loading them.
      expect([row.name, row.xCache]).toEqual([row.name, row.name === 'kiln null' ? 'MISS' : 'HIT']);
      if (row.name.startsWith('kiln ') && row.name !== 'kiln null') expect(row.renders, row.name).toBe(0);
    }
    // One render per cold or expired page, whatever the concurrency.
    expect(results.stampede.map((s) => [s.backend, s.state, s.requests, s.renders, s.failed])).toEqual(
      (redis ? ['memory', 'redis'] : ['memory']).flatMap((b) => [
        [b, 'cold', 20, 1, 0],
        [b, 'expired', 20, 1, 0],
      ]),
    );
    expect(results.memory.entries).toBeGreaterThan(0);
    expect(results.memory.countedBytes).toBeLessThanOrEqual(1024 * 1024);
    if (results.outage) expect(results.outage.redisDown.xCache).toBe('MISS');
    // Every save through Varnish is visible on the first read after the author's 303.
    if (varnish) expect(results.varnish).toMatchObject({ edits: options.varnishEdits, freshOnFirstRead: options.varnishEdits });

    const markdown = renderReport(results, 'npm run bench -- --quick');
    for (const heading of ['## Throughput', '## Stampede', '## Memory bound', '## Redis outage', '## Behind Varnish', '## Targets (this run)']) {
      expect(markdown).toContain(heading);
    }
    expect(verdicts(results).length).toBeGreaterThan(5);
  });
});
