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
    // Each round's ratio is the Kiln row's req/s over bare Koa's on `/` in that same round.
    expect(results.bareOnIndex).toEqual(results.bare.samples.rps);
    const round = (identity.samples.rps[0] / results.bare.samples.rps[0]).toFixed(2);
    expect(renderReport(results, 'npm run bench')).toContain(`| Kiln memory | ${round}× | ${round}× | ${round}×–${round}× |`);
  });
});

describe('measureOrder()', () => {
  it('measures the rows answered from the cache right after bare Koa, and the uncached Kiln, the proxy and koa-compress after them', () => {
    const server = {} as ServerProcess;
    const kiln = {} as KilnProcess;
    const group: Target[] = [
      { name: 'bare koa', server, path: '/' },
      { name: 'kiln null', server, path: '/', kiln },
      { name: 'kiln memory', server, path: '/', kiln },
      { name: 'varnish → kiln memory', server, path: '/' },
      { name: 'kiln memory br', server, path: '/', kiln },
      { name: 'koa-compress br', server, path: '/' },
    ];
    expect(measureOrder(group).map((t) => t.name)).toEqual(['bare koa', 'kiln memory', 'kiln memory br', 'kiln null', 'varnish → kiln memory', 'koa-compress br']);
  });
});
