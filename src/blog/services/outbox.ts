import { In, type DataSource, type EntityManager } from 'typeorm';
import { systemClock, type Clock } from '../../cache/index.ts';
import { OutboxEntity } from '../entities/outbox.ts';
import type { Logger } from '../../log.ts';
import { exclusive } from './write-transactions.ts';

/** A committed write's cache tags, waiting to be invalidated. */
export interface OutboxEntry {
  id: number;
  tags: string[];
}

/** Invalidates tags through a cache; resolves false when the cache could not be reached. */
export type Invalidate = (tags: readonly string[]) => Promise<boolean>;

/** Options of {@link CacheOutbox}. */
export interface CacheOutboxOptions {
  /**
   * The one listener: invalidates through this process's cache. `null` when this process cannot
   * reach the readers' cache (the import command beside a server with the per-process memory
   * cache): its rows then wait for a server's sweep.
   */
  invalidate: Invalidate | null;
  logger: Logger;
  /** Milliseconds between sweeps once `start()`ed (default 1000). */
  sweepMs?: number;
  /** Runs right after a write commits, before its invalidation (the crash test stops the process here). */
  afterCommit?: () => void;
  clock?: Clock;
}

/** Rows read per sweep query. */
const SWEEP_BATCH = 500;

/**
 * The cache invalidation outbox. A write records the tags it makes stale in its own transaction
 * (`record`), and after the commit hands them to the listener, which invalidates them and removes
 * the row (`committed`). A row left behind (a crash between commit and invalidation, a cache
 * outage, a process without a listener) is delivered by `sweep()`: at start, then every
 * `sweepMs` while started. Delivering twice only invalidates twice, so processes sweeping the
 * same table need no coordination.
 *
 * @example
 * const outbox = new CacheOutbox(dataSource, { invalidate: (tags) => cache.invalidateTags(tags), logger });
 * await outbox.sweep(); // before serving
 * outbox.start();       // and every second after
 */
export class CacheOutbox {
  private readonly clock: Clock;
  /** Rows this process is delivering right now: a concurrent sweep leaves them alone. */
  private readonly delivering = new Set<number>();
  /** Rows this process recorded and could not deliver. */
  private readonly left = new Set<number>();
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;
  private failing = false;

  constructor(
    private readonly ds: DataSource,
    private readonly options: CacheOutboxOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Inside a write's transaction: records `tags` (nothing when there are none). */
  async record(manager: EntityManager, tags: readonly string[]): Promise<OutboxEntry | null> {
    if (tags.length === 0) return null;
    const inserted = await manager.getRepository(OutboxEntity).insert({ tags: JSON.stringify(tags), createdAt: this.clock.now() });
    return { id: Number(inserted.identifiers[0]?.id), tags: [...tags] };
  }

  /**
   * After the write's commit: invalidates its tags and removes its row. Never throws (the write
   * is done); on failure the row stays for the sweep, and the cache itself treats reads as misses
   * until its own replay succeeds.
   */
  async committed(entry: OutboxEntry): Promise<void> {
    this.options.afterCommit?.();
    const { invalidate } = this.options;
    if (invalidate === null) {
      this.left.add(entry.id);
      return;
    }
    this.delivering.add(entry.id);
    try {
      if (await invalidate(entry.tags)) await this.remove([entry.id]);
      else this.left.add(entry.id);
    } catch (error) {
      this.left.add(entry.id);
      this.options.logger.warn(`cache outbox: invalidating ${entry.tags.join(', ')} failed (the sweep retries): ${message(error)}`);
    } finally {
      this.delivering.delete(entry.id);
    }
  }

  /**
   * After the write rolled back (its row with it): its tags are invalidated all the same. On
   * SQLite, requests sharing the one connection read what the transaction had written before the
   * rollback, and may have cached pages showing it. Never throws.
   */
  async rolledBack(entry: OutboxEntry): Promise<void> {
    await this.options.invalidate?.(entry.tags).catch(() => false);
  }

  /**
   * Delivers every row left in the table, oldest first, and resolves how many; rows stay when
   * the cache cannot be reached. Concurrent calls share one sweep. Without a listener, does nothing.
   */
  sweep(): Promise<number> {
    if (this.options.invalidate === null) return Promise.resolve(0);
    this.sweeping ??= this.sweepAll().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /** Sweeps every `sweepMs` until `stop()`; the timer never keeps the process alive. */
  start(): void {
    if (this.timer !== undefined || this.options.invalidate === null) return;
    this.timer = setInterval(() => {
      this.sweep().then(
        () => (this.failing = false),
        (error: unknown) => {
          // Once per failure streak: a database that is down would otherwise log every second.
          if (!this.failing) this.options.logger.error(`cache outbox: sweep failed: ${message(error)}`);
          this.failing = true;
        },
      );
    }, this.options.sweepMs ?? 1000);
    this.timer.unref();
  }

  /** Stops the periodic sweep and waits for one in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  /** How many of the rows this process recorded but could not deliver are still in the table. */
  async undelivered(): Promise<number> {
    if (this.left.size === 0) return 0;
    const ids = [...this.left];
    const rows = await exclusive(this.ds, () => this.ds.getRepository(OutboxEntity).find({ select: { id: true }, where: { id: In(ids) } }));
    const still = new Set(rows.map((row) => row.id));
    for (const id of ids) if (!still.has(id)) this.left.delete(id);
    return this.left.size;
  }

  private async sweepAll(): Promise<number> {
    const invalidate = this.options.invalidate;
    if (invalidate === null) return 0;
    const repo = this.ds.getRepository(OutboxEntity);
    let delivered = 0;
    for (;;) {
      // Exclusive on SQLite: the shared connection would otherwise show rows of an open, uncommitted write.
      const rows = await exclusive(this.ds, () => repo.find({ order: { id: 'ASC' }, take: SWEEP_BATCH }));
      const due = rows.filter((row) => !this.delivering.has(row.id));
      if (due.length === 0) return delivered;
      const tags = new Set(due.flatMap((row) => parseTags(row.tags)));
      if (!(await invalidate([...tags]))) return delivered;
      await this.remove(due.map((row) => row.id));
      delivered += due.length;
      if (rows.length < SWEEP_BATCH) return delivered;
    }
  }

  private async remove(ids: readonly number[]): Promise<void> {
    await exclusive(this.ds, () => this.ds.getRepository(OutboxEntity).delete({ id: In([...ids]) }));
    for (const id of ids) this.left.delete(id);
  }
}

/** The tags of a row; a row that does not hold a JSON array of strings has none (and is removed). */
function parseTags(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((tag): tag is string => typeof tag === 'string') : [];
  } catch {
    return [];
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
