import type { DataSource } from 'typeorm';
import { systemClock, type Cache, type Clock, type HttpPurger } from '../cache/index.ts';
import { postChangeTags } from './caching.ts';
import type { Logger } from '../log.ts';
import { CacheOutbox } from './services/outbox.ts';
import { PostService } from './services/posts.ts';

/** Options of {@link wirePostWrites}. */
export interface PostWritesOptions {
  /**
   * The cache readers are served from, reached from this process; `null` when this process
   * cannot reach it (the import command while the server keeps a per-process memory cache): the
   * outbox rows then wait for a server's sweep.
   */
  cache: Cache | null;
  /** The shared HTTP caches in front of Kiln (HTTP_CACHE_PURGE_URLS), purged after the cache. */
  purger?: Pick<HttpPurger, 'purge'>;
  logger: Logger;
  clock?: Clock;
  /** Runs right after each write commits, before its invalidation (a test-only crash hook). */
  afterCommit?: () => void;
}

/**
 * The blog's posts with their writes wired to the cache: every write through the returned
 * `posts` records the tags it makes stale (chosen by caching.ts) in the outbox within its own
 * transaction, and after the commit the outbox invalidates them through `cache`. The server, the
 * import command and the demo seeding all write through this, so none can forget to invalidate.
 *
 * @example
 * const { posts, outbox } = wirePostWrites(dataSource, { cache, logger });
 * await posts.create(input); // resolves once the pages showing it are invalidated
 */
export function wirePostWrites(dataSource: DataSource, options: PostWritesOptions): { posts: PostService; outbox: CacheOutbox } {
  const { cache, purger } = options;
  const clock = options.clock ?? systemClock;
  const outbox = new CacheOutbox(dataSource, {
    // Kiln's cache first, then the shared HTTP caches, so one refilling at once gets the new page.
    // A purge never fails the write: the purger retries in the background and counts failures.
    invalidate:
      cache === null
        ? null
        : async (tags) => {
            const invalidated = await cache.invalidateTags(tags);
            if (invalidated) await purger?.purge(tags);
            return invalidated;
          },
    logger: options.logger,
    afterCommit: options.afterCommit,
    clock,
  });
  return { posts: new PostService(dataSource, clock, { tagsFor: postChangeTags, outbox }), outbox };
}
