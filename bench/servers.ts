import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledTwin, ensureBuilt, INPUTS } from '../scripts/build.mjs';
import type { CacheStats } from '../src/cache/index.ts';
import type { ControlMessage } from './kiln-server.ts';
import { generatePosts } from './posts-data.ts';

/** The repository root (where package.json is). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The standard 300 posts beside the repository, shared by every implementation so figures stay comparable. */
export const SHARED_POSTS_FILE = fileURLToPath(new URL('../../shared/bench/posts.json', import.meta.url));

/**
 * The benchmark's posts: the shared standard file when it is there, else 300 generated posts of
 * the same shape (bench/posts-data.ts) written into `dir`.
 */
export function benchPostsFile(dir: string): string {
  if (existsSync(SHARED_POSTS_FILE)) return SHARED_POSTS_FILE;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'posts.json');
  writeFileSync(file, JSON.stringify(generatePosts(300)));
  return file;
}

/** The cache backends the suite runs Kiln with. */
export type BenchCacheType = 'null' | 'memory' | 'filesystem' | 'redis';

/** What a Kiln child answers on its control channel (see bench/kiln-server.ts). */
export interface ControlReply {
  renders: number;
  stats: CacheStats;
}

/** A server child process listening on loopback. */
export interface ServerProcess {
  readonly name: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** A Kiln child, with the bench-only control channel. */
export interface KilnProcess extends ServerProcess {
  /** Sends a control message (without its id) and resolves the child's answer. */
  control(message: DistributiveOmit<ControlMessage, 'id'>): Promise<ControlReply>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The environment of a child: only what Node needs from ours, plus `extra` (never our secrets or CACHE_*). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[name] !== undefined) base[name] = process.env[name];
  return { ...base, ...extra };
}

/**
 * The benchmark's own build (bench/tsconfig.build.json: the sources and the server entries of
 * bench/), so the servers run compiled on plain node, as `npm start` runs Kiln in production.
 * Under tsx (source maps on, its loader hooks in place) the same Kiln spent about 5 µs more per
 * cached hit, which is tsx's cost, not Kiln's.
 */
const BENCH_BUILD = join(ROOT, 'test-artifacts', 'bench-build');
const BENCH_PROJECT = { project: 'bench/tsconfig.build.json', inputs: [...INPUTS, 'bench', 'bench/tsconfig.build.json'] };
let benchBuilt = false;

/** The compiled twin of a server entry of this repository (`bench/kiln-server.ts`), building the bench build once per run when stale. */
function compiledServer(script: string): string {
  if (!benchBuilt) {
    ensureBuilt(BENCH_BUILD, ROOT, BENCH_PROJECT);
    benchBuilt = true;
  }
  const target = compiledTwin(BENCH_BUILD, script);
  if (!existsSync(target)) throw new Error(`${relative(ROOT, script)} is not in the bench build: add it to bench/tsconfig.build.json`);
  return target;
}

/**
 * Runs a server entry point of this repository compiled (see {@link BENCH_BUILD}), with IPC. Its
 * standard output (the access log) goes to `logFile`, as a deployment's log would go to a file
 * or a collector: read by this process it would take CPU from the server and the load tool.
 */
function spawnServer(script: string, env: Record<string, string>, logFile: string, nodeArgs: readonly string[] = []): ChildProcess {
  const out = openSync(logFile, 'w');
  try {
    return spawn(process.execPath, [...nodeArgs, compiledServer(script)], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', out, 'pipe', 'ipc'],
    });
  } finally {
    closeSync(out);
  }
}

/** The last `bytes` of a file, or nothing when it cannot be read. */
function tail(file: string, bytes: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Resolves once `child` has exited, sending SIGKILL if it takes longer than `ms`. */
function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts a server child and resolves once it reports its port; rejects with its output if it dies first. */
async function startServer(name: string, script: string, env: Record<string, string>, nodeArgs?: readonly string[]) {
  const logFile = join(tmpdir(), `kiln-bench-${process.pid}-${randomBytes(4).toString('hex')}.log`);
  const child = spawnServer(script, { ...env, PORT: '0', HOST: '127.0.0.1' }, logFile, nodeArgs);
  live.add(child);
  child.once('exit', () => live.delete(child));
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString()).slice(-4000);
  });
  const output = () => `${tail(logFile, 4000)}${errors}`;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 30 s:\n${output()}`));
    }, 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${output()}`));
    });
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message.type === 'ready' && typeof message.port === 'number') {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} has no pid`);
  const stop = async () => {
    const done = exited(child, 5000);
    child.kill('SIGTERM');
    await done;
    rmSync(logFile, { force: true });
  };
  return { child, name, url: `http://127.0.0.1:${port}`, pid, stop, output };
}

/** Options of {@link startKiln}. */
export interface KilnOptions {
  cacheType: BenchCacheType;
  /** A SQLite file with the posts imported, of which the server gets its own copy; or a `postgres://` URL, used as it is. */
  database: string;
  /** Folder for this server's copy of the database and its cache files. */
  dir: string;
  /** Key prefix, unique per run, so the shared Redis is never touched outside it. */
  keyPrefix: string;
  /** Extra environment (e.g. CACHE_REDIS_URL). */
  env?: Record<string, string>;
  /** Extra Node flags (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  /** The child's entry point, relative to the repository (default bench/kiln-server.ts; experiments swap it, adding theirs to bench/tsconfig.build.json). */
  entry?: string;
}

/** Starts Kiln in production mode (toolbar off) with the given cache backend, on a free port. */
export async function startKiln(options: KilnOptions): Promise<KilnProcess> {
  mkdirSync(options.dir, { recursive: true });
  let databaseUrl = options.database;
  if (!databaseUrl.startsWith('postgres')) {
    const copy = join(options.dir, 'kiln.sqlite');
    copyFileSync(options.database, copy);
    databaseUrl = `sqlite:${copy}`;
  }
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    SESSION_SECRET: randomBytes(24).toString('hex'),
    KILN_TOOLBAR: '0',
    KILN_WORKERS: '1',
    SEED_DEMO: '0',
    DATA_DIR: options.dir,
    DATABASE_URL: databaseUrl,
    SITE_URL: 'http://127.0.0.1',
    CACHE_TYPE: options.cacheType,
    CACHE_KEY_PREFIX: options.keyPrefix,
    CACHE_DIR: join(options.dir, 'cache'),
    CACHE_NO_NULL_WARNING: '1',
    ...options.env,
  };
  const entry = join(ROOT, options.entry ?? 'bench/kiln-server.ts');
  const server = await startServer(`kiln (${options.cacheType})`, entry, env, options.nodeArgs);
  let nextId = 1;
  const control = (message: DistributiveOmit<ControlMessage, 'id'>) =>
    new Promise<ControlReply>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${server.name} did not answer ${message.type}`)), 10_000);
      const onMessage = (reply: { id?: number } & ControlReply) => {
        if (reply.id !== id) return;
        clearTimeout(timer);
        server.child.off('message', onMessage);
        resolve({ renders: reply.renders, stats: reply.stats });
      };
      server.child.on('message', onMessage);
      server.child.send({ ...message, id });
    });
  return { name: server.name, url: server.url, pid: server.pid, stop: server.stop, control };
}

/** Starts the bare Koa baseline answering the bytes in `bodyFile`, on a free port. */
export async function startBareKoa(bodyFile: string): Promise<ServerProcess> {
  const server = await startServer('bare koa', join(ROOT, 'bench/bare-koa.ts'), { BODY_FILE: bodyFile });
  return { name: server.name, url: server.url, pid: server.pid, stop: server.stop };
}

/** Starts the bare Koa baseline behind koa-compress (bench/bare-koa.ts with BARE_COMPRESS=1), answering the bytes in `bodyFile`, on a free port. */
export async function startBareKoaCompress(bodyFile: string): Promise<ServerProcess> {
  const server = await startServer('koa-compress', join(ROOT, 'bench/bare-koa.ts'), { BODY_FILE: bodyFile, BARE_COMPRESS: '1' });
  return { name: server.name, url: server.url, pid: server.pid, stop: server.stop };
}

/**
 * Makes a fresh SQLite database in `dir` with the benchmark posts (default: {@link benchPostsFile})
 * imported through the `npm run import` CLI (migrations first), and resolves its path.
 */
export async function prepareDatabase(dir: string, postsFile = benchPostsFile(dir)): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'kiln.sqlite');
  await importPosts(`sqlite:${file}`, postsFile, dir);
  return file;
}

/**
 * Imports `postsFile` into the database at `databaseUrl` (migrated first) with the `npm run import`
 * CLI, run by tsx without a cache (no server runs on it yet: no pages to invalidate), and
 * resolves what it printed. Rejects with that output when it fails or outlasts `timeoutMs`.
 */
export async function importPosts(databaseUrl: string, postsFile: string, dir: string, timeoutMs = 120_000): Promise<string> {
  const env = { NODE_ENV: 'production', SESSION_SECRET: randomBytes(24).toString('hex'), SEED_DEMO: '0', DATA_DIR: dir, DATABASE_URL: databaseUrl, CACHE_TYPE: 'null' };
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/blog/cli/import.ts'), postsFile], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`import failed (${code}):\n${output}`);
  return output;
}
