import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.ts';
import { openDatabase } from '../src/blog/db.ts';
import { ensureAuthor } from '../src/blog/seed.ts';
import { UserService } from '../src/blog/services/users.ts';
import { createCache, type Clock } from '../src/cache/index.ts';
import { loadConfig } from '../src/config.ts';
import { consoleLogger } from '../src/log.ts';

/**
 * Kiln as the benchmark runs it: what src/server.ts does for one process (KILN_WORKERS=1:
 * configuration from the environment, database, cache, app, listen) in a child process
 * started by bench/servers.ts, plus a
 * bench-only control channel over IPC that src/server.ts does not have:
 * - `ready` is sent with the port once listening (the bench passes PORT=0);
 * - `stats` answers the cache's counters and how many page templates were rendered;
 * - `advance` moves the clock given to the cache and the app forward, so "an expired page" can
 *   be measured without waiting 20 minutes;
 * - `clear` empties this server's cache (a cold page again).
 *
 * `KILN_BENCH_ABLATE` (bench/ablate.ts only) switches parts off to measure what they cost:
 * `cache-events` removes the listeners of the cache's event stream (the /metrics counters of
 * cache operations); `log-unbuffered` writes each access log line to standard output at once
 * instead of once per event-loop turn.
 */

/** A request from the bench over IPC. */
export type ControlMessage =
  | { id: number; type: 'stats' }
  | { id: number; type: 'advance'; ms: number }
  | { id: number; type: 'clear' };

const log = consoleLogger();

async function main(): Promise<void> {
  const ablate = new Set((process.env.KILN_BENCH_ABLATE ?? '').split(',').filter(Boolean));
  const config = loadConfig();
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  const dataSource = await openDatabase(config.databaseUrl);
  // An author only when AUTHOR_USERNAME is given (the Kiln behind Varnish, whose saves are timed).
  await ensureAuthor(config, new UserService(dataSource), log);
  const cache = await createCache(config.cache, { clock, logger: log });
  // Sessions: createApp's default store for the configuration (readers never touch it).
  const accessLog = ablate.has('log-unbuffered') ? process.stdout : undefined;
  const app = await createApp(config, { dataSource, cache, logger: log, clock, accessLog });
  if (ablate.has('cache-events')) cache.events.removeAllListeners('op');
  let renders = 0;
  const render = app.context.render;
  app.context.render = function countedRender(...args: Parameters<typeof render>) {
    renders += 1;
    return render.apply(this, args);
  };
  const server = app.listen(config.port, config.host, () => {
    process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
  });
  process.on('message', (message: ControlMessage) => {
    void (async () => {
      if (message.type === 'advance') offset += message.ms;
      if (message.type === 'clear') await cache.clear();
      process.send?.({ id: message.id, renders, stats: await cache.stats() });
    })();
  });
  const stop = () => {
    server.close(() => void Promise.allSettled([cache.close(), dataSource.destroy()]).finally(() => process.exit(0)));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
}

main().catch((error: unknown) => {
  log.error(`bench server failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
