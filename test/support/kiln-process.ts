import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUTHOR } from './app.ts';
import { compiled } from './build.ts';
import { killOnExit } from './children.ts';

/** The repository root, where `src/server.ts` lives. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real Kiln server (the compiled `src/server.ts`, test/support/build.ts) started by a test. */
export interface KilnProcess {
  /** The process id of the started process (the cluster primary when KILN_WORKERS > 1). */
  readonly pid: number;
  /** Every line it has written so far, stdout and stderr together. */
  readonly lines: readonly string[];
  /** Resolves with the first line (from the start) matching `pattern` and not rejected by `after`. */
  waitForLine(pattern: RegExp, options?: { timeoutMs?: number; after?: number }): Promise<{ line: string; match: RegExpExecArray; index: number }>;
  /** Resolves with the exit code and signal, once it has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Safe to call twice. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The environment of a Kiln with two workers on a fresh SQLite file in `dir`, with the test
 * author, the demo posts and no cache; `extra` adds to it or overrides it.
 */
export function twoWorkerEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    KILN_WORKERS: '2',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`,
    AUTHOR_USERNAME: AUTHOR.username,
    AUTHOR_PASSWORD: AUTHOR.password,
    SEED_DEMO: '1',
    CACHE_TYPE: 'null',
    CACHE_NO_NULL_WARNING: '1',
    ...extra,
  };
}

/** Starts Kiln with `env` added to this process's environment. */
export function startKilnProcess(env: Record<string, string>): KilnProcess {
  const child = spawn(process.execPath, [compiled('src/server.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not start src/server.ts');
  killOnExit(child, (running) => running.kill('SIGKILL'));
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      for (const wake of waiters) wake();
    });
  };
  if (child.stdout) collect(child.stdout);
  if (child.stderr) collect(child.stderr);

  const waitForLine: KilnProcess['waitForLine'] = (pattern, options = {}) =>
    new Promise((resolve, reject) => {
      const from = options.after ?? -1;
      const check = () => {
        for (let i = from + 1; i < lines.length; i++) {
          const match = pattern.exec(lines[i]);
          if (match) return done(() => resolve({ line: lines[i], match, index: i }));
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`Kiln exited before printing ${pattern}:\n${lines.join('\n')}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no line matching ${pattern} within ${options.timeoutMs ?? 30_000} ms:\n${lines.join('\n')}`))),
        options.timeoutMs ?? 30_000,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  return {
    pid: child.pid,
    lines,
    waitForLine,
    exited: () => exit,
    stop: (graceMs = 8000) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exit;
          clearTimeout(timer);
        }
        return exit;
      })();
      return stopping;
    },
  };
}
