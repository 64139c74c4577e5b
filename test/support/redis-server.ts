import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killOnExit } from './children.ts';

/** A private redis-server process started by a test; every method is safe to call twice. */
export interface RedisServer {
  /** The port it listens on (kept across restarts). */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** The process id, or `undefined` while it is not running. */
  readonly pid: number | undefined;
  /** Stops it gracefully (SIGTERM, thawing it first) and removes its temp dir. */
  stop(): Promise<void>;
  /** Kills it with SIGKILL, as a crash would, and removes its temp dir. */
  kill(): Promise<void>;
  /** Freezes it with SIGSTOP: connections stay open but nothing is answered. */
  freeze(): void;
  /** Resumes a frozen server with SIGCONT. */
  thaw(): void;
  /** Stops it if running, then starts a fresh, empty server on the same port. */
  restart(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Extra command-line directives, e.g. `['--rename-command', 'KEYS', '']`. */
  args?: readonly string[];
}



/** Spawns redis-server and resolves once it accepts connections; rejects if it exits first. */
function launch(port: number, dir: string, extra: readonly string[]): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no',
    ...extra,
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A frozen server ignores SIGKILL until it is thawed.
  killOnExit(child, (running) => {
    running.kill('SIGCONT');
    running.kill('SIGKILL');
  });
  let output = '';
  let settled = false;
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) return resolve(child);
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => settle(new Error(`redis-server on ${port} not ready after 5 s:\n${output}`)), 5000);
    child.once('error', (error) => settle(error));
    child.once('exit', (code) => settle(new Error(`redis-server on ${port} exited (${code}):\n${output}`)));
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) settle();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

/** Resolves when `child` has exited, killing it with SIGKILL if it takes longer than `ms`. */
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

/**
 * Starts a private, empty redis-server (no persistence) on a free port in a temp dir.
 * Call `stop()` in `afterAll`; a process exit hook kills any server a crashed run leaves.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const extra = options.args ?? [];
  let dir = '';
  let child: ChildProcess | undefined;
  let port = 0;
  // Another process may grab the port between probing and binding; try a few.
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'kiln-redis-'));
    try {
      child = await launch(port, dir, extra);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      if (attempt >= 2) throw error;
    }
  }

  const halt = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const current = child;
    child = undefined;
    if (current !== undefined) {
      const done = exited(current, 3000);
      current.kill(signal);
      current.kill('SIGCONT'); // a stopped process acts on SIGTERM only once resumed
      await done;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    freeze: () => {
      child?.kill('SIGSTOP');
    },
    thaw: () => {
      child?.kill('SIGCONT');
    },
    restart: async () => {
      await halt('SIGTERM');
      dir = mkdtempSync(join(tmpdir(), 'kiln-redis-'));
      child = await launch(port, dir, extra);
    },
  };
}
