import { createCache, describeCacheConfig } from '../../cache/index.ts';
import { loadConfig } from '../../config.ts';
import { consoleLogger } from '../../log.ts';

/** `npm run cache:clear`: removes Kiln's entries (its key prefix only) from the configured cache. */
async function main(): Promise<void> {
  const log = consoleLogger();
  const config = loadConfig();
  log.info(describeCacheConfig(config.cache));
  if (config.cache.type === 'memory' || config.cache.type === 'null') {
    log.warn(`the ${config.cache.type} cache lives inside each server process: restart the server to empty it`);
    return;
  }
  const cache = await createCache(config.cache, { logger: log, throwOnErrors: true });
  try {
    await cache.clear();
    log.info(`cleared every entry under the prefix ${JSON.stringify(config.cache.keyPrefix)}`);
  } finally {
    await cache.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cache:clear failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
