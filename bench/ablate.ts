import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDatabase, startBareKoa, startKiln, type BenchCacheType, type ServerProcess } from './servers.ts';
import { ratio } from './stats.ts';
import { measureInterleaved, type Target } from './throughput.ts';
import { hasWrk } from './wrk.ts';

/**
 * `npx tsx bench/ablate.ts [CACHE_TYPE] [PATH] [ROUNDS]` (default memory / 5): what parts of Kiln
 * cost on a page, measured interleaved against bare Koa: Kiln as it is, twice (the spread
 * between two identical servers is the noise floor), then with the cache's event listeners
 * removed (the /metrics bookkeeping per cache operation; KILN_BENCH_ABLATE, see
 * bench/kiln-server.ts), then without the access log (LOG_LEVEL=silent), and with its lines
 * written one by one instead of once per event-loop turn. Prints req/s, ratio to bare Koa and server CPU per request.
 */

const VARIANTS: readonly [string, string, Record<string, string>?][] = [
  ['Kiln as is', ''],
  ['Kiln as is (again)', ''],
  ['without cache-event listeners', 'cache-events'],
  ['without the access log', '', { LOG_LEVEL: 'silent' }],
  ['access log written line by line', 'log-unbuffered'],
];

async function main(cacheType: BenchCacheType, path: string, rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ablate-'));
  const servers: ServerProcess[] = [];
  try {
    const database = await prepareDatabase(join(dir, 'import'));
    const targets: Target[] = [];
    for (const [i, [name, ablate, env]] of VARIANTS.entries()) {
      const kiln = await startKiln({ cacheType, database, dir: join(dir, String(i)), keyPrefix: `kiln-ablate-${process.pid}-${i}:`, env: { KILN_BENCH_ABLATE: ablate, ...env } });
      servers.push(kiln);
      targets.push({ name, server: kiln, path, kiln });
    }
    const bodyFile = join(dir, 'index.html');
    writeFileSync(bodyFile, Buffer.from(await (await fetch(`${servers[0].url}/`)).arrayBuffer()));
    const bare = await startBareKoa(bodyFile);
    servers.push(bare);
    const results = await measureInterleaved([{ name: 'bare Koa', server: bare, path: '/' }, ...targets], {
      connections: 32, durationS: 3, warmupS: 2, rounds, tool: hasWrk() ? 'wrk' : 'node', log: () => {},
    });
    const base = results[0];
    process.stdout.write(`${cacheType} ${path}, ${rounds} interleaved rounds of 3 s, medians\n`);
    for (const r of results) {
      process.stdout.write(
        `${r.name.padEnd(32)} ${r.rps.toFixed(0).padStart(7)} req/s  ${ratio(r.rps, base.rps).toFixed(2)}×  ${r.cpuUs.toFixed(1).padStart(6)} µs CPU/req  p99 ${r.p99Ms.toFixed(1)} ms  ${r.xCache}\n`,
      );
    }
    if (cacheType === 'redis') for (const t of targets) await t.kiln?.control({ type: 'clear' });
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const [type = 'memory', path = '/', rounds = '5'] = process.argv.slice(2);
main(type as BenchCacheType, path, Number(rounds)).catch((error: unknown) => {
  process.stderr.write(`ablate failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
