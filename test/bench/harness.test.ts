import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../bench/report.ts';
import { measureOrder, quickOptions, runSuite } from '../../bench/suite.ts';
import type { KilnProcess, ServerProcess } from '../../bench/servers.ts';
import type { Target } from '../../bench/throughput.ts';

// The throughput phase of the benchmark harness at its smallest: real servers loaded from another
// process for one second. The whole harness (every phase, every backend) is `npm run bench:check`.

const scratch = mkdtempSync(join(tmpdir(), 'kiln-bench-smoke-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A few posts in the import format, so the smoke needs nothing outside the repository. */
function writePosts(count: number): string {
  const posts = Array.from({ length: count }, (_, i) => ({
    title: `Smoke post ${i + 1}`,
    category: ['koa', 'cache', 'news'][i % 3],
    body: `## Part ${i + 1}\n\nA paragraph with *emphasis*, \`code\` and a [link](https://example.com/${i}).\n\n- one\n- two\n`,
    created_at: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
    published: true,
  }));
  const file = join(scratch, 'posts.json');
  writeFileSync(file, JSON.stringify(posts));
  return file;
}

describe('runSuite()', () => {
  it('measures the cached index page as hits, with nothing rendered under load, in identity and in br beside koa-compress', { timeout: 60_000 }, async () => {
    const results = await runSuite({
      ...quickOptions(() => {}),
      backends: ['memory'],
      routes: ['/'],
      durationS: 1,
      warmupS: 0,
      rounds: 1,
      skip: ['stampede', 'outage', 'memory', 'varnish', 'growth'],
      postsFile: writePosts(12),
    });
    expect(results.rows.map((row) => [row.name, row.xCache, row.renders])).toEqual([
      ['kiln memory', 'HIT', 0],
      ['kiln memory br', 'HIT', 0],
      ['koa-compress br', '-', -1],
    ]);
    const sizes = results.compression;
    expect(sizes && sizes.br < sizes.identity && sizes.gzip < sizes.identity && sizes.koaCompress < sizes.identity).toBe(true);
    const [identity, br] = results.rows;
    expect(br.bytesPerResponse).toBeLessThan(identity.bytesPerResponse);
    // Each round's ratio is the Kiln row's req/s over the mean of the bare Koa measured just before and after it.
    const bareAround = results.bare.samples.rps;
    expect(bareAround).toHaveLength(3);
    expect(identity.baselineRps).toEqual([(bareAround[0] + bareAround[1]) / 2]);
    expect(br.baselineRps).toEqual([(bareAround[1] + bareAround[2]) / 2]);
    const bareTails = results.bare.samples.p99Ms;
    expect(identity.baselineP99Ms).toEqual([(bareTails[0] + bareTails[1]) / 2]);
    const round = (identity.samples.rps[0] / identity.baselineRps![0]).toFixed(2);
    expect(renderReport(results, 'npm run bench')).toContain(`| Kiln memory | ${round}× | ${round}× | ${round}×–${round}× |`);
  });
});

describe('measureOrder()', () => {
  const server = {} as ServerProcess;
  const kiln = {} as KilnProcess;
  const bare: Target = { name: 'bare koa', server, path: '/', baseline: true };
  const names = (targets: Target[]) => targets.map((t) => t.name);

  it('on `/`, measures bare Koa before and after each row answered from the cache, and the uncached Kiln, the proxy and koa-compress after them', () => {
    const group: Target[] = [
      bare,
      { name: 'kiln null', server, path: '/', kiln },
      { name: 'kiln memory', server, path: '/', kiln },
      { name: 'varnish → kiln memory', server, path: '/' },
      { name: 'kiln memory br', server, path: '/', kiln },
      { name: 'koa-compress br', server, path: '/' },
    ];
    expect(names(measureOrder(group))).toEqual(['bare koa', 'kiln memory', 'bare koa', 'kiln memory br', 'bare koa', 'kiln null', 'varnish → kiln memory', 'koa-compress br']);
  });

  it('on other routes, which no target judges, measures bare Koa once, first', () => {
    const group: Target[] = [bare, { name: 'kiln null', server, path: '/about', kiln }, { name: 'kiln memory', server, path: '/about', kiln }, { name: 'kiln redis', server, path: '/about', kiln }];
    expect(names(measureOrder(group))).toEqual(['bare koa', 'kiln memory', 'kiln redis', 'kiln null']);
  });
});
