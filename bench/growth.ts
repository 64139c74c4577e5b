import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_POSTGRES_URL, requirePostgres } from '../test/support/services.ts';
import { growthMarkdown } from './growth-report.ts';
import { DEFAULT_SEED, generatePosts, type GeneratedPost } from './posts-data.ts';
import { importPosts, startKiln, type KilnProcess } from './servers.ts';
import { median, percentile } from './stats.ts';

/**
 * The data-growth phase of `npm run bench`, also runnable alone:
 * `npx tsx bench/growth.ts [--sizes 300,20000,100000] [--db sqlite,postgres] [--requests 40] [--warmup 5] [--quick]`.
 * For each size and database it imports that many generated posts (bench/posts-data.ts) through
 * the import CLI, timing it; then starts Kiln on each (production mode, CACHE_TYPE=null, so every
 * page is built from the database) and times every public page, sequential requests interleaved
 * across all the servers so the machine's load falls on every size alike. Each page's median is
 * compared with the same page at the first (smallest) size. PostgreSQL gets a fresh schema per
 * size on the shared server, dropped afterwards.
 */

/** A database the phase runs Kiln on. */
export type GrowthDatabase = 'sqlite' | 'postgres';

/** How the phase is shaped. */
export interface GrowthOptions {
  /** Numbers of posts, smallest first: the first is the reference of every ratio. */
  sizes: readonly number[];
  databases: readonly GrowthDatabase[];
  /** Timed requests per page and server. */
  requests: number;
  /** Untimed requests per page and server before them. */
  warmup: number;
  log: (line: string) => void;
}

/** The full phase (300 / 20,000 / 100,000 posts on both databases). */
export const GROWTH_FULL = { sizes: [300, 20_000, 100_000], databases: ['sqlite', 'postgres'], requests: 60, warmup: 5 } as const;
/** The smoke run. */
export const GROWTH_QUICK = { sizes: [300, 2_000], databases: ['sqlite', 'postgres'], requests: 15, warmup: 2 } as const;

/** One import of one size into one database. */
export interface GrowthImport {
  database: GrowthDatabase;
  size: number;
  /** Posts per second of the writes, as the import command reports it. */
  rate: number;
  /** The whole command: start, reading and checking the file, planning, writing. */
  commandSeconds: number;
}

/** One page timed on one server. */
export interface GrowthPage {
  database: GrowthDatabase;
  size: number;
  /** What the page is (the same label at every size). */
  page: string;
  path: string;
  status: number;
  medianMs: number;
  p95Ms: number;
}

/** Everything the phase measured. */
export interface GrowthResult {
  sizes: number[];
  databases: GrowthDatabase[];
  requests: number;
  warmup: number;
  imports: GrowthImport[];
  pages: GrowthPage[];
  /** 1-minute load average before and after the phase: other work on a shared machine shows here. */
  loadBefore: number;
  loadAfter: number;
  /** Why a part did not run. */
  skipped: string[];
}

/** The category whose pages are timed. */
const CATEGORY = 'python';
const PER_PAGE = 10;
/** The post page timed is the one nearest the middle whose body is about this long (rendering cost follows the body). */
const POST_BODY_BYTES = 4000;

/** A page to time on the server of one size, with the status it must answer. */
interface PageSpec {
  page: string;
  path: string;
  status: number;
}

/** The public pages of a blog of generated `posts`, imported in order into an empty database (ids from 1). */
export function growthPages(posts: readonly GeneratedPost[]): PageSpec[] {
  const published = posts.filter((p) => p.published).length;
  const inCategory = posts.filter((p) => p.published && p.category === CATEGORY).length;
  const pages = Math.max(1, Math.ceil(published / PER_PAGE));
  const categoryPages = Math.max(1, Math.ceil(inCategory / PER_PAGE));
  const middle = Math.ceil(pages / 2);
  let post = Math.ceil(posts.length / 2);
  for (let d = 0; d < posts.length; d++) {
    const candidates = [Math.ceil(posts.length / 2) + d, Math.ceil(posts.length / 2) - d];
    const found = candidates.find((id) => id >= 1 && id <= posts.length && posts[id - 1].published && Math.abs(Buffer.byteLength(posts[id - 1].body) - POST_BODY_BYTES) < 100);
    if (found !== undefined) {
      post = found;
      break;
    }
  }
  const query = (page: number) => (page === 1 ? '' : `?page=${page}`);
  return [
    { page: 'index, first page', path: '/', status: 200 },
    { page: 'index, middle page', path: `/${query(middle)}`, status: 200 },
    { page: 'index, last page', path: `/${query(pages)}`, status: 200 },
    { page: `category ${CATEGORY}, first page`, path: `/category/${CATEGORY}`, status: 200 },
    { page: `category ${CATEGORY}, last page`, path: `/category/${CATEGORY}${query(categoryPages)}`, status: 200 },
    { page: 'a post', path: `/posts/${post}`, status: 200 },
    { page: 'feed', path: '/feed.xml', status: 200 },
    { page: 'API list', path: '/api/v1/posts', status: 200 },
    { page: `API list, ${CATEGORY}`, path: `/api/v1/posts?category=${CATEGORY}`, status: 200 },
    { page: 'index, past the end (404)', path: `/?page=${pages + 1}`, status: 404 },
    { page: `category ${CATEGORY}, past the end (404)`, path: `/category/${CATEGORY}?page=${categoryPages + 1}`, status: 404 },
  ];
}

/**
 * The generated posts of `size` as an import file, and the pages to time on a blog of them: kept
 * in the temp folder between runs (the same size, seed and generator give the same posts; 100,000
 * take minutes to generate), written post by post so no single string holds the file.
 */
function generated(size: number, log: (line: string) => void): { file: string; pages: PageSpec[] } {
  const generator = createHash('sha256').update(readFileSync(fileURLToPath(new URL('./posts-data.ts', import.meta.url)))).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'kiln-growth-posts');
  const file = join(dir, `posts-${size}-${DEFAULT_SEED}-${generator}.json`);
  const pagesFile = `${file}.pages`;
  if (existsSync(file) && existsSync(pagesFile)) return { file, pages: JSON.parse(readFileSync(pagesFile, 'utf8')) as PageSpec[] };
  log(`growth: generating ${size} posts into ${file}`);
  const posts = generatePosts(size);
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  const fd = openSync(partial, 'w');
  try {
    posts.forEach((post, i) => writeSync(fd, `${i === 0 ? '[\n' : ',\n'}${JSON.stringify(post)}`));
    writeSync(fd, posts.length === 0 ? '[]\n' : '\n]\n');
  } finally {
    closeSync(fd);
  }
  renameSync(partial, file);
  const pages = growthPages(posts);
  writeFileSync(pagesFile, JSON.stringify(pages));
  return { file, pages };
}

/** Parses `… (12.3 s, 2345 posts/s)` from the import command's output. */
function importRate(output: string): number {
  const match = /, (\d+) posts\/s\)/.exec(output);
  return match ? Number(match[1]) : Number.NaN;
}

/** A PostgreSQL schema of its own for one size; `drop()` removes it and everything in it. */
function postgresSchema(runId: string, size: number): { url: string; drop(): Promise<void> } {
  const schema = `kiln_growth_${runId}_${size}`;
  const url = new URL(SHARED_POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.href,
    drop: async () => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: SHARED_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Times one request; resolves its status and milliseconds. */
async function timed(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

/** Runs the phase; every server, schema and temp folder is gone when it resolves. */
export async function measureGrowth(options: GrowthOptions): Promise<GrowthResult> {
  const { log } = options;
  const loadBefore = loadavg()[0];
  const sizes = [...options.sizes].sort((a, b) => a - b);
  const skipped: string[] = [];
  let databases = [...options.databases];
  if (databases.includes('postgres') && !(await requirePostgres())) {
    skipped.push(`PostgreSQL: not reachable at ${SHARED_POSTGRES_URL}`);
    databases = databases.filter((d) => d !== 'postgres');
  }
  const runId = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'kiln-growth-'));
  const drops: (() => Promise<void>)[] = [];
  const servers: { database: GrowthDatabase; size: number; kiln: KilnProcess; pages: PageSpec[] }[] = [];
  const imports: GrowthImport[] = [];
  try {
    for (const size of sizes) {
      const { file, pages } = generated(size, log);
      for (const database of databases) {
        let url = `sqlite:${join(dir, `${database}-${size}`, 'kiln.sqlite')}`;
        if (database === 'postgres') {
          const schema = postgresSchema(runId, size);
          drops.push(schema.drop);
          url = schema.url;
        }
        const started = performance.now();
        const output = await importPosts(url, file, join(dir, `${database}-${size}`), 30 * 60_000);
        const commandSeconds = (performance.now() - started) / 1000;
        imports.push({ database, size, rate: importRate(output), commandSeconds });
        log(`growth: ${database} ${size}: ${output.trim().split('\n')[0]} (command ${commandSeconds.toFixed(1)} s)`);
        const kiln = await startKiln({
          cacheType: 'null',
          database: database === 'postgres' ? url : url.slice('sqlite:'.length),
          dir: join(dir, `${database}-${size}-server`),
          keyPrefix: `kiln-growth-${runId}-${database}-${size}:`,
        });
        servers.push({ database, size, kiln, pages });
      }
    }
    log(`growth: timing ${servers[0]?.pages.length ?? 0} pages on ${servers.length} servers, ${options.warmup} + ${options.requests} requests each, interleaved`);
    const pages: GrowthPage[] = [];
    const labels = servers[0]?.pages.map((p) => p.page) ?? [];
    for (const [index, label] of labels.entries()) {
      const samples = servers.map(() => [] as number[]);
      const statuses = servers.map(() => 0);
      for (let round = 0; round < options.warmup + options.requests; round++) {
        // Rotate who goes first, so no server always follows the same one.
        for (let k = 0; k < servers.length; k++) {
          const s = (round + k) % servers.length;
          const { status, ms } = await timed(`${servers[s].kiln.url}${servers[s].pages[index].path}`);
          statuses[s] = status;
          if (round >= options.warmup) samples[s].push(ms);
        }
      }
      servers.forEach((server, s) => {
        const spec = server.pages[index];
        if (statuses[s] !== spec.status) throw new Error(`${server.database} ${server.size}: ${spec.path} answered ${statuses[s]}, expected ${spec.status}`);
        pages.push({ database: server.database, size: server.size, page: label, path: spec.path, status: statuses[s], medianMs: median(samples[s]), p95Ms: percentile(samples[s], 95) });
      });
    }
    return { sizes, databases, requests: options.requests, warmup: options.warmup, imports, pages, loadBefore, loadAfter: loadavg()[0], skipped };
  } finally {
    await Promise.allSettled(servers.map((s) => s.kiln.stop()));
    await Promise.allSettled(drops.map((drop) => drop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseArgs(argv: readonly string[]): GrowthOptions {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const preset = argv.includes('--quick') ? GROWTH_QUICK : GROWTH_FULL;
  const options: GrowthOptions = { ...preset, sizes: [...preset.sizes], databases: [...preset.databases], log };
  const list = (value: string | undefined) => (value ?? '').split(',').filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--quick':
        continue;
      case '--sizes':
        options.sizes = list(value).map(Number);
        if (options.sizes.length === 0 || options.sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error(`--sizes needs positive whole numbers, got ${value}`);
        break;
      case '--db':
        options.databases = list(value).map((d) => {
          if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--db takes sqlite and postgres, got ${d}`);
          return d;
        });
        break;
      case '--requests':
      case '--warmup': {
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n < (argv[i] === '--requests' ? 1 : 0)) throw new Error(`${argv[i]} needs a whole number, got ${value}`);
        if (argv[i] === '--requests') options.requests = n;
        else options.warmup = n;
        break;
      }
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
    i++;
  }
  return options;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  measureGrowth(parseArgs(argv))
    .then((result) => process.stdout.write(`${growthMarkdown(result, ['npx tsx bench/growth.ts', ...argv].join(' ')).join('\n')}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`growth failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
