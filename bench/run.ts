import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport } from './report.ts';
import { ROOT } from './servers.ts';
import { fullOptions, quickOptions, runSuite, type BenchResults, type SuiteOptions, type SuitePhase } from './suite.ts';

/**
 * `npm run bench` — Kiln's benchmark suite: about 20 minutes, writes BENCHMARKS.md and
 * prints it. `npm run bench -- --quick` is a smoke run of every phase with tiny durations that
 * only prints (add `--out FILE` to write it). Other flags: `--duration S`, `--warmup S`,
 * `--rounds N`, `--pages N` (memory bound), `--routes /,/about`, `--backends null,memory`,
 * `--posts FILE` (the posts to import instead of ../shared/bench/posts.json),
 * `--growth-sizes 300,20000` and `--growth-db sqlite` (the data-growth phase, bench/growth.ts),
 * `--skip growth,varnish` (phases left out: stampede, outage, memory, varnish, compression, growth).
 * Every run also keeps its raw results in the temp folder (kiln-bench-results.json), so
 * `--rerender FILE` rebuilds the report (e.g. after editing bench/notes.md) without measuring.
 */

/** The phases `--skip` may leave out. */
const PHASES: readonly SuitePhase[] = ['stampede', 'outage', 'memory', 'varnish', 'compression', 'growth'];

const isPhase = (name: string): name is SuitePhase => PHASES.some((phase) => phase === name);

/** Where each run keeps its raw results. */
const RESULTS_FILE = join(tmpdir(), 'kiln-bench-results.json');

function parseArgs(argv: readonly string[]): { options: SuiteOptions; out: string | undefined; rerender: string | undefined } {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const quick = argv.includes('--quick');
  const options = quick ? quickOptions(log) : fullOptions(log);
  let out: string | undefined = quick ? undefined : join(ROOT, 'BENCHMARKS.md');
  let rerender: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const number = () => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${argv[i]} needs a number, got ${value}`);
      i++;
      return n;
    };
    switch (argv[i]) {
      case '--quick':
        break;
      case '--out':
        out = value;
        i++;
        break;
      case '--rerender':
        rerender = value;
        i++;
        break;
      case '--duration':
        options.durationS = number();
        break;
      case '--warmup':
        options.warmupS = number();
        break;
      case '--rounds':
        options.rounds = number();
        break;
      case '--pages':
        options.memoryPages = number();
        break;
      case '--routes':
        options.routes = (value ?? '').split(',').filter(Boolean);
        i++;
        break;
      case '--posts':
        options.postsFile = value;
        i++;
        break;
      case '--growth-sizes':
        options.growth.sizes = (value ?? '').split(',').filter(Boolean).map(Number);
        if (options.growth.sizes.length === 0 || options.growth.sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error(`--growth-sizes needs positive whole numbers, got ${value}`);
        i++;
        break;
      case '--growth-db':
        options.growth.databases = (value ?? '').split(',').filter(Boolean).map((d) => {
          if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--growth-db takes sqlite and postgres, got ${d}`);
          return d;
        });
        i++;
        break;
      case '--backends':
        options.backends = (value ?? '').split(',').filter(Boolean) as SuiteOptions['backends'];
        i++;
        break;
      case '--skip':
        options.skip = (value ?? '').split(',').filter(Boolean).map((phase) => {
          if (!isPhase(phase)) throw new Error(`--skip takes ${PHASES.join(', ')}, got ${phase}`);
          return phase;
        });
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return { options, out, rerender };
}

async function main(argv: readonly string[]): Promise<void> {
  const { options, out, rerender } = parseArgs(argv);
  let results: BenchResults & { command?: string };
  let command = ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
  if (rerender) {
    results = JSON.parse(readFileSync(rerender, 'utf8')) as BenchResults & { command?: string };
    command = results.command ?? command;
  } else {
    results = await runSuite(options);
    writeFileSync(RESULTS_FILE, JSON.stringify({ ...results, command }));
    process.stderr.write(`raw results in ${RESULTS_FILE}\n`);
  }
  const markdown = renderReport(results, command, join(ROOT, 'bench/notes.md'));
  if (out) writeFileSync(out, markdown);
  process.stdout.write(markdown);
  if (out) process.stderr.write(`written to ${out}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
