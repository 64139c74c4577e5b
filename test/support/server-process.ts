import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiled } from './build.ts';
import { freePort, killOnExit } from './children.ts';

/** The repository root, where `src/server.ts` lives. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The real Kiln server (`src/server.ts`) running as a child process, restartable after a crash. */
export interface ServerProcess {
  /** The port it listens on (kept across restarts). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The process id, or `undefined` while it is not running. */
  readonly pid: number | undefined;
  /** Everything it printed since it was last started. */
  readonly output: string;
  /** Starts it again (after `kill()` or `stop()`) with the same environment and port. */
  start(): Promise<void>;
  /** Kills it with SIGKILL, as a crash or a power cut would, and waits until it is gone. */
  kill(): Promise<void>;
  /** Stops it with SIGTERM (a graceful shutdown) and waits until it is gone. */
  stop(): Promise<void>;
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** Kiln's environment (PORT is chosen here; HOST is 127.0.0.1). */
  env: Record<string, string>;
  /** How long a start may take before it counts as failed (default 30 s). */
  readyTimeoutMs?: number;
  /** The arguments of `node` that start Kiln (default: {@link KILN_SERVER}). */
  args?: readonly string[];
}

/** Kiln's server as `npm start` runs it: the compiled `src/server.ts` (test/support/build.ts). */
export const KILN_SERVER: readonly string[] = [compiled('src/server.ts')];

const READY = /Kiln listening on /;

/**
 * Signals the child's whole process group (it was started detached, as a group leader), so a
 * server that forks workers leaves none behind.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

const killForGood = (child: ChildProcess): void => killGroup(child, 'SIGKILL');


/** Resolves once `child` has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts the compiled server (or `node ...args`) as one process, and resolves once it logs that
 * it listens. Only PATH and HOME are inherited, so the test runner's own NODE_ENV and variables never leak in.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = await freePort();
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env, PORT: String(port), HOST: '127.0.0.1' };
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const args = options.args ?? KILN_SERVER;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error('the server is already running');
    output = '';
    const spawned = spawn(process.execPath, [...args], {
      cwd: REPO_ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = spawned;
    killOnExit(spawned, killForGood);
    spawned.once('exit', () => {
      if (child === spawned) child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error === undefined) return resolve();
        killGroup(spawned, 'SIGKILL');
        reject(error);
      };
      const timer = setTimeout(() => settle(new Error(`server not listening after ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
      spawned.once('error', (error) => settle(error));
      spawned.once('exit', (code, signal) => settle(new Error(`server exited (${code ?? signal}) before listening:\n${output}`)));
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (READY.test(output)) settle();
      };
      spawned.stdout?.on('data', onData);
      spawned.stderr?.on('data', onData);
    });
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const current = child;
    if (current === undefined) return;
    const gone = exited(current);
    killGroup(current, signal);
    // A graceful stop that hangs is finished off after 5 s.
    const timer = setTimeout(() => killGroup(current, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    child = undefined;
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
    kill: () => halt('SIGKILL'),
    stop: () => halt('SIGTERM'),
  };
}

/**
 * Runs the server once and resolves how it ended when it exits before listening (a refused
 * start), or rejects if it starts listening instead (it is then killed). It listens on a free
 * port unless `env` names one (to try a port in use).
 */
export async function expectStartRefused(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn(process.execPath, [...KILN_SERVER], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', ...env, PORT: port },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child, killForGood);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`server neither started nor exited within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (READY.test(output)) {
        clearTimeout(timer);
        killGroup(child, 'SIGKILL');
        reject(new Error(`server started although it should have refused:\n${output}`));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
