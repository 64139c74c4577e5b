import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../bench/report.ts';
import { quickOptions, runSuite } from '../../bench/suite.ts';

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
