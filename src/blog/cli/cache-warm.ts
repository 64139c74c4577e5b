import type { AddressInfo } from 'node:net';
import { createApp } from '../../app.ts';
import { createCache, describeCacheConfig } from '../../cache/index.ts';
import { loadConfig } from '../../config.ts';
import { consoleLogger } from '../../log.ts';
import { openDatabase } from '../db.ts';
import { warmPaths } from '../warm.ts';
import { PostService } from '../services/posts.ts';

/**
 * `npm run cache:warm`: renders the index pages, category pages and latest posts into the
 * configured cache through the real app, as a reader would request them, with progress.
 */
async function main(): Promise<void> {
  const log = consoleLogger();
  const config = loadConfig();
  log.info(describeCacheConfig(config.cache));
  if (config.cache.type === 'memory' || config.cache.type === 'null') {
    log.warn(`the ${config.cache.type} cache lives inside each server process: warming it from here would be thrown away`);
    return;
  }
  const dataSource = await openDatabase(config.databaseUrl);
  const cache = await createCache(config.cache, { logger: log });
  const app = await createApp(config, { dataSource, cache, logger: log, accessLog: null });
  const server = app.listen(0, '127.0.0.1');
  try {
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const paths = await warmPaths(new PostService(dataSource));
    let failed = 0;
    for (const [i, path] of paths.entries()) {
      const res = await fetch(base + path);
      await res.arrayBuffer();
      if (res.status !== 200) failed += 1;
      process.stdout.write(`\rwarming ${i + 1}/${paths.length} pages`);
    }
    process.stdout.write(`\nwarmed ${paths.length - failed} pages${failed ? `, ${failed} failed` : ''}\n`);
    if (failed) process.exitCode = 1;
  } finally {
    server.close();
    await Promise.allSettled([cache.close(), dataSource.destroy()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\ncache:warm failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
