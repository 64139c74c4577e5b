import { createApp } from './app.ts';
import { openDatabase } from './blog/db.ts';
import { ensureAuthor, seedDemo } from './blog/seed.ts';
import { PostService } from './blog/services/posts.ts';
import { UserService } from './blog/services/users.ts';
import { createCache, describeCacheConfig } from './cache/config.ts';
import { ConfigError, loadConfig } from './config.ts';
import { consoleLogger } from './log.ts';

// The only module with side effects at import: read the configuration, prepare the database,
// build the app and listen.
const log = consoleLogger();

async function main(): Promise<void> {
  const config = loadConfig();
  const dataSource = await openDatabase(config.databaseUrl);
  await ensureAuthor(config, new UserService(dataSource), log);
  if (config.seedDemo) {
    const seeded = await seedDemo(new PostService(dataSource), Date.now());
    if (seeded > 0) log.info(`Added ${seeded} demo posts (SEED_DEMO=0 starts empty)`);
  }
  const cache = await createCache(config.cache, { logger: log });
  log.info(describeCacheConfig(config.cache));
  const app = await createApp(config, { dataSource, cache, logger: log });
  const server = app.listen(config.port, config.host, () => {
    log.info(`Kiln listening on http://${config.host}:${config.port} (${config.nodeEnv})`);
  });
  const stop = () => {
    log.info('Shutting down');
    server.close(() => void Promise.allSettled([cache.close(), dataSource.destroy()]).finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  log.error(err instanceof ConfigError ? `Bad configuration: ${err.message}` : `Failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
