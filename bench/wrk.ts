import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What one bounded load run measured. */
export interface LoadResult {
  /** Completed requests per second. */
  rps: number;
  /** Latency percentiles, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Connection, read, write errors and timeouts. */
  errors: number;
  /** Responses with a status outside 2xx/3xx. */
  badStatus: number;
  /** Bytes received per response, headers included (what went over the wire). */
  bytesPerResponse: number;
  /** Which load generator ran: `wrk`, or `node` (bench/load.ts) when wrk is missing. */
  tool: LoadTool;
}

/** The load generators the harness can drive. */
export type LoadTool = 'wrk' | 'node';

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Concurrent keep-alive connections (the suite uses 32). */
  connections: number;
  /** Whole seconds of load (wrk takes whole seconds). */
  durationS: number;
  tool: LoadTool;
  /** Request headers sent with every request (e.g. `Accept-Encoding`); default none. */
  headers?: Readonly<Record<string, string>>;
}

const LUA = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));
const NODE_LOADER = fileURLToPath(new URL('./load.ts', import.meta.url));

/** Whether `wrk` is on the PATH. */
export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is ENOENT.
    return !(error instanceof Error && 'code' in error && error.code === 'ENOENT');
  }
}

/** Parses the JSON line bench/wrk-report.lua makes wrk print; throws when it is absent. */
export function parseWrkOutput(text: string): LoadResult {
  const line = text.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${text}`);
  const s = JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number>;
  const seconds = s.durationUs / 1e6;
  return {
    rps: seconds > 0 ? s.requests / seconds : 0,
    p50Ms: s.p50Us / 1000,
    p99Ms: s.p99Us / 1000,
    requests: s.requests,
    errors: s.connectErrors + s.readErrors + s.writeErrors + s.timeouts,
    badStatus: s.statusErrors,
    bytesPerResponse: s.requests > 0 ? s.bytes / s.requests : Number.NaN,
    tool: 'wrk',
  };
}

/** Parses the JSON line bench/load.ts prints. */
export function parseNodeLoaderOutput(text: string): LoadResult {
  const line = text.split('\n').find((l) => l.startsWith('LOADJSON '));
  if (!line) throw new Error(`the node load generator printed no summary:\n${text}`);
  const s = JSON.parse(line.slice('LOADJSON '.length)) as Omit<LoadResult, 'tool'>;
  return { ...s, tool: 'node' };
}

/** Runs `cmd args`, resolving its stdout; killed when it outlives `limitMs`. */
function capture(cmd: string, args: readonly string[], limitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code ?? signal}: ${err || out}`));
    });
  });
}

/**
 * Loads `url` from a separate process for a bounded time: wrk (one thread, keep-alive,
 * `--latency` distribution via a Lua summary), or bench/load.ts when `tool` is `node`.
 */
export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(options.durationS));
  const limitMs = (seconds + 20) * 1000;
  const headers = Object.entries(options.headers ?? {});
  if (options.tool === 'wrk') {
    const args = ['-t1', `-c${options.connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', '-s', LUA];
    for (const [name, value] of headers) args.push('-H', `${name}: ${value}`);
    return parseWrkOutput(await capture('wrk', [...args, url], limitMs));
  }
  const args = ['--import', 'tsx', NODE_LOADER, url, String(options.connections), String(seconds * 1000), JSON.stringify(Object.fromEntries(headers))];
  return parseNodeLoaderOutput(await capture(process.execPath, args, limitMs));
}

let ticksPerSecond: number | undefined;

/**
 * CPU time a live process (all its threads: the event loop, GC, libuv) has used so far, in
 * milliseconds, from /proc (NaN where there is no /proc). Per request, it is a steadier figure
 * than req/s on a machine shared with other work.
 */
export function readCpuMs(pid: number): number {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** The resident set size of a live process, in bytes, from /proc (NaN where there is no /proc). */
export function readRss(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
