import { createCache, describeCacheConfig, HttpPurger, PURGE_ALL_TAG, type PurgeEvent } from '../../cache/index.ts';
import { loadConfig } from '../../config.ts';
import { consoleLogger } from '../../log.ts';
import type { Logger } from '../../log.ts';

/**
 * `npm run cache:clear`: removes Kiln's entries (its key prefix only) from the configured cache,
 * and empties the shared HTTP caches of HTTP_CACHE_PURGE_URLS (a purge of the tag every object
 * there carries).
 */
async function main(): Promise<void> {
  const log = consoleLogger();
  const config = loadConfig();
  log.info(describeCacheConfig(config.cache));
  if (config.cache.type === 'memory' || config.cache.type === 'null') {
    log.warn(`the ${config.cache.type} cache lives inside each server process: restart the server to empty it`);
  } else {
    const cache = await createCache(config.cache, { logger: log, throwOnErrors: true });
    try {
      await cache.clear();
      log.info(`cleared every entry under the prefix ${JSON.stringify(config.cache.keyPrefix)}`);
    } finally {
      await cache.close();
    }
  }
  if (config.httpCachePurgeUrls.length > 0) await purgeHttpCaches(config.httpCachePurgeUrls, log);
}

/** Purges everything from each shared HTTP cache, with two retries; sets the exit code when one could not be purged. */
async function purgeHttpCaches(urls: readonly string[], log: Logger): Promise<void> {
  // Timers that keep the process alive while a retry waits (the default ones do not hold a server open).
  const timers = {
    set: (run: () => void, ms: number) => {
      const timer = setTimeout(run, ms);
      return { cancel: () => clearTimeout(timer) };
    },
  };
  const purger = new HttpPurger({ urls, retries: 2, backoffMs: 500, repeatAfterMs: 0, logger: log, timers });
  const given: string[] = [];
  purger.events.on('purge', (event: PurgeEvent) => {
    if (event.result === 'sent') log.info(`purged ${event.target}${event.purged === undefined ? '' : ` (${event.purged} objects)`}`);
    if (event.result === 'abandoned') given.push(event.target);
  });
  await purger.purge([PURGE_ALL_TAG]);
  await purger.idle();
  if (given.length > 0) {
    log.error(`could not purge ${given.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cache:clear failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
