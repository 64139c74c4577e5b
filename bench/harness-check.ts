import assert from 'node:assert/strict';
import { COMPRESSION_ROWS } from './compression.ts';
import { renderReport, verdicts } from './report.ts';
import { quickOptions, runSuite, sharedRedisUp, type SuiteOptions } from './suite.ts';

/**
 * `npm run bench:check` — the benchmark harness run end to end at a tiny size, so it cannot rot:
 * every phase starts real servers, loads them from another process and reports. Figures from
 * such a short run mean nothing; what is checked is that each phase ran and its facts hold.
 * About two minutes on the 2-core machine, which is why it is not part of `npm test` (the smoke
 * there covers the throughput phase alone). `--posts FILE` imports other posts than the data set.
 */
async function main(argv: readonly string[]): Promise<void> {
  const redis = await sharedRedisUp();
  if (!redis) {
    if (process.env.CI) throw new Error('Redis is not answering on 127.0.0.1:6379 (required when CI is set)');
    console.warn('bench:check: WARNING no Redis on 127.0.0.1:6379, the redis rows are skipped');
  }
  const postsAt = argv.indexOf('--posts');
  const options: SuiteOptions = {
    ...quickOptions((line) => process.stderr.write(`${line}\n`)),
    warmupS: 0,
    routes: ['/'],
    stampede: 20,
    memoryPages: 300,
    memoryMaxBytes: '1MB',
    postsFile: postsAt >= 0 ? argv[postsAt + 1] : undefined,
  };
  const results = await runSuite(options);

  assert.ok(results.bare.rps > 0, 'bare Koa answered');
  const backends = redis ? ['null', 'memory', 'filesystem', 'redis'] : ['null', 'memory', 'filesystem'];
  const compressed: string[] = [COMPRESSION_ROWS.memory, ...(redis ? [COMPRESSION_ROWS.redis] : []), COMPRESSION_ROWS.koaCompress];
  const plain = results.rows.filter((r) => !compressed.includes(r.name));
  assert.deepEqual(plain.map((r) => r.name), backends.map((b) => `kiln ${b}`));
  assert.deepEqual(results.rows.filter((r) => compressed.includes(r.name)).map((r) => r.name), compressed);
  assert.ok(results.compression && results.compression.br < results.compression.identity, 'the stored brotli form of / is smaller');
  for (const row of results.rows) {
    assert.ok(row.rps > 0, `${row.name} answered`);
    assert.equal(row.errors + row.badStatus, 0, `${row.name} had errors`);
    // Cached pages are measured as hits: nothing rendered while loading them.
    if (row.name === COMPRESSION_ROWS.koaCompress) continue;
    assert.equal(row.xCache, row.name === 'kiln null' ? 'MISS' : 'HIT', `${row.name} X-Cache`);
    if (row.name !== 'kiln null') assert.equal(row.renders, 0, `${row.name} rendered under load`);
  }
  // One render per cold or expired page, whatever the concurrency.
  assert.deepEqual(
    results.stampede.map((s) => [s.backend, s.state, s.requests, s.renders, s.failed]),
    (redis ? ['memory', 'redis'] : ['memory']).flatMap((b) => [
      [b, 'cold', 20, 1, 0],
      [b, 'expired', 20, 1, 0],
    ]),
  );
  assert.ok(results.memory, 'the memory bound ran');
  assert.ok(results.memory.entries > 0, 'the memory bound kept entries');
  assert.ok(results.memory.countedBytes <= 1024 * 1024, 'the memory bound held');
  if (results.outage) assert.equal(results.outage.redisDown.xCache, 'MISS');

  const markdown = renderReport(results, 'npm run bench:check');
  for (const heading of ['## Throughput', '## Compression', '## Stampede', '## Memory bound', '## Redis outage', '## Targets (this run)']) {
    assert.ok(markdown.includes(heading), `the report has ${heading}`);
  }
  assert.ok(verdicts(results).length > 5, 'the report judges the targets');
  process.stdout.write(`bench:check: every phase ran and its facts hold (${results.seconds.toFixed(0)} s)\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench:check failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
