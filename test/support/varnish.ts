import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killOnExit } from './children.ts';
import { REPO_ROOT } from './server-process.ts';

/** The script that runs Varnish in front of Kiln (deploy/varnish/run.sh). */
export const VARNISH_RUN_SH = join(REPO_ROOT, 'deploy/varnish/run.sh');

/** Varnish started by a test through deploy/varnish/run.sh; every method is safe to call twice. */
export interface VarnishProcess {
  /** The port it listens on, on 127.0.0.1 (kept across restarts). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The pid of varnishd (run.sh execs it), or `undefined` while it is not running. */
  readonly pid: number | undefined;
  /** Everything it printed since it was last started. */
  readonly output: string;
  /** Starts it again after `stop()`, on the same port, with an empty cache. */
  start(): Promise<void>;
  /** Stops it with SIGTERM (SIGKILL after 5 s), waits until it is gone and removes its state. */
  stop(): Promise<void>;
}

/** Options of {@link startVarnish}. */
export interface VarnishOptions {
  /** Kiln's port on 127.0.0.1 (KILN_BACKEND). */
  backendPort: number;
  /** The port to listen on (default: a free one). */
  port?: number;
  /** PURGE_ALLOW (default: run.sh's, loopback). */
  purgeAllow?: string;
  /** How long a start may take (default 30 s: it compiles the VCL twice, slowly on a busy machine). */
  readyTimeoutMs?: number;
}

/** Signals the whole process group: varnishd's manager and the cache process it forked. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Resolves once an HTTP request to the port gets any answer from Varnish. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'PURGE', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.headers['x-varnish'] !== undefined);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Starts deploy/varnish/run.sh in front of Kiln on 127.0.0.1 and resolves once Varnish answers
 * (a PURGE without tags gets its 400). Its state lives in a temporary folder removed by `stop()`;
 * an exit hook kills it if a run dies without its afterAll.
 */
export async function startVarnish(options: VarnishOptions): Promise<VarnishProcess> {
  const port = options.port ?? (await freePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let child: ChildProcess | undefined;
  let workdir = '';
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error('varnish is already running');
    workdir = mkdtempSync(join(tmpdir(), 'kiln-varnish-'));
    output = '';
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      VARNISH_PORT: String(port),
      KILN_BACKEND: `127.0.0.1:${options.backendPort}`,
      VARNISH_WORKDIR: workdir,
    };
    if (options.purgeAllow !== undefined) env.PURGE_ALLOW = options.purgeAllow;
    const spawned = spawn(VARNISH_RUN_SH, [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = spawned;
    killOnExit(spawned, (running) => killGroup(running, 'SIGKILL'));
    spawned.once('exit', () => {
      if (child === spawned) child = undefined;
    });
    const collect = (chunk: Buffer): void => void (output += chunk.toString());
    spawned.stdout?.on('data', collect);
    spawned.stderr?.on('data', collect);
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await answers(port))) {
      if (spawned.exitCode !== null || spawned.signalCode !== null) throw new Error(`run.sh exited (${spawned.exitCode ?? spawned.signalCode}):\n${output}`);
      if (Date.now() > deadline) {
        killGroup(spawned, 'SIGKILL');
        throw new Error(`varnish not answering on ${port} after ${readyTimeoutMs} ms:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (current !== undefined) {
      const gone = new Promise<void>((resolve) => {
        if (current.exitCode !== null || current.signalCode !== null) resolve();
        else current.once('exit', () => resolve());
      });
      killGroup(current, 'SIGTERM');
      const timer = setTimeout(() => killGroup(current, 'SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
      child = undefined;
    }
    if (workdir !== '') rmSync(workdir, { recursive: true, force: true });
    workdir = '';
  };

  await start();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    get output() {
      return output;
    },
    start,
    stop,
  };
}
