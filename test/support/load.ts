import { spawn } from 'node:child_process';

/**
 * A bounded HTTP load generator for reliability tests. The load runs in a second Node process
 * (so the server under test does not share its event loop with the client measuring it), over
 * keep-alive connections to a loopback URL, and always stops by itself: after `durationMs`, after
 * `maxRequests`, and in any case a few seconds later when the parent kills it.
 */

/** What one run of load does. */
export interface LoadOptions {
  /** Base URL, e.g. `http://127.0.0.1:3000`; loopback only. */
  baseUrl: string;
  /** Paths requested round-robin. */
  paths: readonly string[];
  /** Requests in flight at once (default 8). */
  connections?: number;
  /** How long the load runs, in milliseconds. */
  durationMs: number;
  /** Stop after this many requests, whichever comes first (default unbounded within the duration). */
  maxRequests?: number;
  /** Per path, text every 200 response must contain (a correct page, not just a 200). */
  expect?: Readonly<Record<string, string>>;
  /** Text no response may contain (e.g. an error page's marker). */
  forbid?: readonly string[];
  /** A request that takes longer than this is abandoned and counted as an error (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * Faults to inject while the load runs: each action starts `atMs` after the first request,
   * in order; the run resolves once the load and every action are done.
   */
  schedule?: readonly ScheduledAction[];
}

/** Something done to the system under load at a given moment, e.g. killing Redis. */
export interface ScheduledAction {
  /** When, in ms after the load started. */
  atMs: number;
  /** A name for the figures. */
  name: string;
  run(): void | Promise<void>;
}

/** One request: when it started (ms since the load began), which path, status, latency and `X-Cache`. */
export interface LoadSample {
  /** Start time in ms since the load began. */
  t: number;
  path: string;
  /** HTTP status; 0 when the request failed without a response. */
  status: number;
  /** Latency in ms, from sending to the last body byte. */
  ms: number;
  /** The `X-Cache` header, or '' when absent. */
  cache: string;
  /** Why the response was wrong ('' when it was right): a status, a missing or forbidden text, an error. */
  problem: string;
}

/** Everything a run observed. */
export interface LoadResult {
  samples: LoadSample[];
  /** Wall time of the run in ms. */
  elapsedMs: number;
  /** When each scheduled action actually started, in ms on the samples' time line. */
  actions: Record<string, number>;
}

const WORKER = String.raw`
import http from 'node:http';
const o = JSON.parse(process.argv[1]);
const base = new URL(o.baseUrl);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) { console.error('loopback only'); process.exit(2); }
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
const samples = [];
const t0 = performance.now();
const end = t0 + o.durationMs;
process.stderr.write('started\n');
let next = 0;
function one(path) {
  return new Promise((resolve) => {
    const start = performance.now();
    let done = false;
    const finish = (status, cache, problem) => {
      if (done) return;
      done = true;
      samples.push([Math.round((start - t0) * 10) / 10, path, status, Math.round((performance.now() - start) * 100) / 100, cache, problem]);
      resolve();
    };
    const req = http.get({ host: base.hostname, port: base.port, path, agent, headers: { accept: 'text/html' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => finish(res.statusCode ?? 0, '', 'error: ' + e.message));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const cache = String(res.headers['x-cache'] ?? '');
        let problem = '';
        if (res.statusCode !== 200) problem = 'status ' + res.statusCode;
        else if (o.expect[path] !== undefined && !body.includes(o.expect[path])) problem = 'missing ' + JSON.stringify(o.expect[path]);
        else for (const bad of o.forbid) if (body.includes(bad)) { problem = 'contains ' + JSON.stringify(bad); break; }
        finish(res.statusCode ?? 0, cache, problem);
      });
    });
    req.setTimeout(o.requestTimeoutMs, () => { req.destroy(new Error('timeout')); });
    req.on('error', (e) => finish(0, '', 'error: ' + e.message));
  });
}
async function loop() {
  while (performance.now() < end && next < o.maxRequests) {
    const path = o.paths[next % o.paths.length];
    next += 1;
    await one(path);
  }
}
const hardStop = setTimeout(() => { report(); process.exit(0); }, o.durationMs + o.requestTimeoutMs + 1000);
function report() {
  process.stdout.write(JSON.stringify({ samples, elapsedMs: performance.now() - t0 }));
}
await Promise.all(Array.from({ length: o.connections }, loop));
clearTimeout(hardStop);
agent.destroy();
report();
`;

/** Runs one bounded load in a child process and resolves what it observed. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const config = {
    baseUrl: options.baseUrl,
    paths: options.paths,
    connections: options.connections ?? 8,
    durationMs: options.durationMs,
    maxRequests: options.maxRequests ?? Number.MAX_SAFE_INTEGER,
    expect: options.expect ?? {},
    forbid: options.forbid ?? [],
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
  };
  if (config.paths.length === 0) throw new Error('runLoad: no paths');
  const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let startedAt: number | undefined;
  const actions: Record<string, number> = {};
  let scheduled: Promise<void> = Promise.resolve();
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (startedAt === undefined && stderr.includes('started\n')) {
      startedAt = performance.now();
      scheduled = runSchedule(options.schedule ?? [], startedAt, actions);
      // Reported when the run resolves; marked handled now so Node does not warn meanwhile.
      scheduled.catch(() => undefined);
    }
  });
  // The worker stops itself; this only guards against a wedged child.
  const guard = setTimeout(() => child.kill('SIGKILL'), config.durationMs + config.requestTimeoutMs + 10_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`load generator ended with ${code ?? signal}: ${stderr}`));
      const raw = JSON.parse(stdout) as { samples: [number, string, number, number, string, string][]; elapsedMs: number };
      scheduled.then(
        () =>
          resolve({
            elapsedMs: raw.elapsedMs,
            actions,
            samples: raw.samples.map(([t, path, status, ms, cache, problem]) => ({ t, path, status, ms, cache, problem })),
          }),
        reject,
      );
    });
  });
}

/** Runs the actions in order, each no earlier than its time after `startedAt`, noting when it ran. */
async function runSchedule(schedule: readonly ScheduledAction[], startedAt: number, actions: Record<string, number>): Promise<void> {
  for (const action of [...schedule].sort((a, b) => a.atMs - b.atMs)) {
    const wait = startedAt + action.atMs - performance.now();
    if (wait > 0) await sleep(wait);
    actions[action.name] = Math.round(performance.now() - startedAt);
    await action.run();
  }
}

/** The `p`-th percentile (0–100) of `values`, nearest-rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Counts and latency figures of some samples, for assertions and RELIABILITY.md. */
export interface LoadSummary {
  requests: number;
  /** Samples with a problem (wrong status, wrong page, no response). */
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** Requests per second over the samples' time span. */
  rps: number;
  /** Count per `X-Cache` value. */
  cache: Record<string, number>;
  /** Up to 5 distinct problems, for failure messages. */
  problems: string[];
}

/** Summarizes the samples that started within [from, to) ms (default: all). */
export function summarize(samples: readonly LoadSample[], from = 0, to = Number.POSITIVE_INFINITY): LoadSummary {
  const picked = samples.filter((s) => s.t >= from && s.t < to);
  const latencies = picked.map((s) => s.ms);
  const cache: Record<string, number> = {};
  for (const s of picked) cache[s.cache || '-'] = (cache[s.cache || '-'] ?? 0) + 1;
  const bad = picked.filter((s) => s.problem !== '');
  const starts = picked.map((s) => s.t);
  const span = picked.length > 1 ? (starts.reduce((a, b) => Math.max(a, b)) - starts.reduce((a, b) => Math.min(a, b))) / 1000 : 0;
  return {
    requests: picked.length,
    errors: bad.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.reduce((a, b) => Math.max(a, b), 0),
    rps: span > 0 ? Math.round(picked.length / span) : 0,
    cache,
    problems: Array.from(new Set(bad.map((s) => `${s.path}: ${s.problem}`))).slice(0, 5),
  };
}

/** Resolves after `ms` milliseconds of real time (fault tests drive real processes). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
