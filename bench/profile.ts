import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize, type CpuProfile } from './cpu-profile.ts';
import { prepareDatabase, startKiln, type BenchCacheType } from './servers.ts';
import { probe } from './throughput.ts';
import { hasWrk, runLoad } from './wrk.ts';

/**
 * `npx tsx bench/profile.ts [CACHE_TYPE] [PATH] [SECONDS]` (default: null / 10): runs Kiln
 * (production, fresh database with the benchmark posts) under `node --cpu-prof`, loads PATH
 * with 32 connections, stops it, and prints where the time went: self time by function and by
 * file or package. The .cpuprofile is kept (its path is printed) for Chrome DevTools.
 */

async function main(cacheType: BenchCacheType, path: string, seconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-profile-'));
  const profiles = join(dir, 'profiles');
  try {
    const database = await prepareDatabase(join(dir, 'import'));
    const kiln = await startKiln({
      cacheType,
      database,
      dir: join(dir, 'kiln'),
      keyPrefix: `kiln-profile-${process.pid}:`,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
    });
    const tool = hasWrk() ? 'wrk' : 'node';
    let result;
    try {
      await probe(kiln.url + path);
      await runLoad(kiln.url + path, { connections: 32, durationS: 2, tool });
      result = await runLoad(kiln.url + path, { connections: 32, durationS: seconds, tool });
      if (cacheType === 'redis') await kiln.control({ type: 'clear' });
    } finally {
      await kiln.stop();
    }
    const [file] = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile was written');
    const summary = summarize(JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile);
    const pct = (ms: number) => `${((100 * ms) / summary.total).toFixed(1).padStart(5)}%`;
    const out = [
      `# ${cacheType} ${path}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms (${tool}, 32 connections, ${seconds} s)`,
      '## self time by file or package',
      ...summary.byOwner.slice(0, 25).map(([name, ms]) => `${pct(ms)}  ${name}`),
      '## self time by function',
      ...summary.byFunction.slice(0, 40).map(([name, ms]) => `${pct(ms)}  ${name}`),
      '## inclusive time by function',
      ...summary.inclusive.slice(0, 60).map(([name, ms]) => `${pct(ms)}  ${name}`),
    ].join('\n');
    const keep = join(tmpdir(), `kiln-${cacheType}-${path.replace(/\W+/g, '_')}-${Date.now()}.cpuprofile`);
    writeFileSync(keep, readFileSync(join(profiles, file)));
    process.stdout.write(`${out}\nprofile: ${keep}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [type = 'null', path = '/', seconds = '10'] = process.argv.slice(2);
main(type as BenchCacheType, path, Number(seconds)).catch((error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
