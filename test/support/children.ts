import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Children the tests started that are still running, each with how to kill it for good. */
const live = new Map<ChildProcess, (child: ChildProcess) => void>();
let exitHookInstalled = false;

/**
 * Last resort when a test run dies without its afterAll: `child` is killed with `kill` when this
 * process exits, unless it has exited first. Nothing a test starts outlives the run.
 */
export function killOnExit(child: ChildProcess, kill: (child: ChildProcess) => void): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const [running, killIt] of live) killIt(running);
    });
  }
  live.set(child, kill);
  child.once('exit', () => live.delete(child));
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
