import cluster from 'node:cluster';
import type { DataSource } from 'typeorm';
import { createApp } from './app.ts';
import { openDatabase } from './blog/db.ts';
import { ensureAuthor, requireAuthorInProduction, seedDemo } from './blog/seed.ts';
import { createLoginAttemptStore, createSessionStore } from './blog/services/session-stores.ts';
import { UserService } from './blog/services/users.ts';
import { wirePostWrites } from './blog/writes.ts';
import { createCache, describeCacheConfig } from './cache/index.ts';
import { ConfigError, StartupError, loadConfig, type Config } from './config.ts';
import { workerExposition } from './fleet-metrics.ts';
import { EXIT_CANNOT_LISTEN, listenFailure, probeListen } from './listen-failure.ts';
import { consoleLogger, stdoutLines, type Logger } from './log.ts';
import { runPrimary } from './workers.ts';

// The only module with side effects at import: read the configuration, prepare the database,
// then either serve in this process (KILN_WORKERS=1) or fork the workers, each of which runs
// this file again and serves.
let log: Logger = consoleLogger();

/** This process's worker number (cluster ids start at 1; 0 is the only process or the primary). */
const worker = cluster.worker?.id ?? 0;

/** Migrates the database and creates the author and demo posts: once, before anyone serves. */
async function prepare(config: Config): Promise<DataSource> {
  const dataSource = await openDatabase(config.databaseUrl);
  try {
    const users = new UserService(dataSource);
    await ensureAuthor(config, users, log);
    await requireAuthorInProduction(config, users);
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  if (config.seedDemo) {
    // No cache here: the demo posts' outbox rows are delivered by the first sweep of a server.
    const seeded = await seedDemo(wirePostWrites(dataSource, { cache: null, logger: log }).posts, Date.now());
    if (seeded > 0) log.info(`Added ${seeded} demo posts (SEED_DEMO=0 starts empty)`);
  }
  return dataSource;
}

/** Builds the app on an open database and listens until SIGTERM or SIGINT. */
async function serve(config: Config, dataSource: DataSource): Promise<void> {
  const cache = await createCache(config.cache, { logger: log });
  const sessions = createSessionStore(config.session, { dataSource, logger: log });
  const loginAttempts = createLoginAttemptStore(config.session, { dataSource, logger: log });
  if (!cluster.isWorker) log.info(`${describeCacheConfig(config.cache)}; sessions: ${config.session.store}`);
  // A worker's /metrics shows the whole cluster's, added up by the primary (src/fleet-metrics.ts).
  const exposeMetrics = cluster.isWorker ? workerExposition : undefined;
  const app = await createApp(config, { dataSource, cache, sessions, loginAttempts, logger: log, worker, exposeMetrics });
  // Invalidations a crash or a cache outage left behind, and writes of processes that cannot reach
  // this cache (the import command beside a memory cache): replayed before serving, then every second.
  const { outbox } = app.context.services;
  await outbox.sweep();
  outbox.start();
  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const who = cluster.isWorker ? `Kiln worker ${process.pid}` : 'Kiln';
    log.info(`${who} listening on http://${config.host}:${port} (${config.nodeEnv})`);
  });
  // A port in use (taken since the primary's probe, or by another program) is one line, not a stack.
  server.once('error', (err) => {
    const line = listenFailure(err, config);
    log.error(line ?? `Failed to listen on ${config.host}:${config.port}: ${err.stack ?? err.message}`);
    process.exit(cluster.isWorker && line !== undefined ? EXIT_CANNOT_LISTEN : 1);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info(cluster.isWorker ? `Kiln worker ${process.pid} shutting down` : 'Shutting down');
    const close = () => Promise.allSettled([outbox.stop(), app.context.services.caching.close(), cache.close(), sessions.close(), loginAttempts.close()]).then(() => dataSource.destroy());
    server.close(() => void close().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Information is buffered (written with the access log's lines, at 32 KB or after 50 ms); warnings and errors are not.
  log = consoleLogger({ level: config.logLevel, format: config.logFormat, worker, out: stdoutLines() });
  if (cluster.isWorker) {
    // The primary has migrated: workers never race on the schema.
    return serve(config, await openDatabase(config.databaseUrl, { migrate: false }));
  }
  // Before anything else, so a taken port is one line rather than a failure in every worker.
  if (config.port !== 0) await probeListen(config);
  const dataSource = await prepare(config);
  if (config.workers === 1) return serve(config, dataSource);
  await dataSource.destroy();
  log.info(`${describeCacheConfig(config.cache)}; sessions: ${config.session.store}`);
  // Every worker must sign cookies alike, also with a secret generated here (development, test).
  const primary = runPrimary({ count: config.workers, logger: log, env: { SESSION_SECRET: config.sessionSecret } });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    log.info('Shutting down the workers');
    void primary.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  if (err instanceof StartupError) log.error(err.message);
  else if (err instanceof ConfigError) log.error(`Bad configuration: ${err.message}`);
  else log.error(`Failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
