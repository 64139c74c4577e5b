import { CACHE_DEFAULTS } from './defaults.ts';

/**
 * Invalidations that failed and still have to reach the backend.
 *
 * A delete, a tag invalidation or a clear that fails (the backend is down, frozen or timing out)
 * leaves the entries it was meant to remove where they are: a frozen Redis thaws with all of
 * them, and the author's save was acknowledged meanwhile. So the cache remembers what failed,
 * treats every read as a miss while anything is pending (never a stale hit), and replays the
 * work until the backend takes it. In-process only: another process sharing the backend learns
 * of the invalidation when this one replays it.
 */

/** One batch of invalidations to apply. */
export interface PendingWork {
  /** Clear everything under the prefix. */
  clear: boolean;
  /** Tags to give fresh versions. */
  tags: string[];
  /** Keys to delete. */
  keys: string[];
}

/** Most keys and tags remembered one by one; beyond that the replay clears the whole prefix. */
export const MAX_PENDING = CACHE_DEFAULTS.pendingMaxEntries;

/** Remembers failed invalidations and replays them, one replay at a time. */
export class PendingInvalidations {
  private readonly tags = new Set<string>();
  private readonly keys = new Set<string>();
  private clear = false;
  /** Bumped by every clear that fails, so a replay only settles the clears it applied. */
  private clears = 0;
  private replaying: Promise<boolean> | undefined;

  /** Whether nothing is waiting to be replayed. */
  get empty(): boolean {
    return !this.clear && this.tags.size === 0 && this.keys.size === 0;
  }

  /** Remembers tags whose invalidation failed. */
  addTags(tags: readonly string[]): void {
    for (const tag of tags) this.tags.add(tag);
    this.bound();
  }

  /** Remembers keys whose deletion failed. */
  addKeys(keys: readonly string[]): void {
    for (const key of keys) this.keys.add(key);
    this.bound();
  }

  /** Remembers a clear that failed. */
  addClear(): void {
    this.clear = true;
    this.clears += 1;
  }

  /**
   * Applies everything pending with `apply` (which resolves whether it all succeeded), unless a
   * replay is already running, whose result is then shared. What was added during a replay stays
   * pending for the next one. Never rejects.
   */
  replay(apply: (work: PendingWork) => Promise<boolean>): Promise<boolean> {
    if (this.empty) return Promise.resolve(true);
    this.replaying ??= this.run(apply).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async run(apply: (work: PendingWork) => Promise<boolean>): Promise<boolean> {
    const clears = this.clears;
    const work: PendingWork = { clear: this.clear, tags: Array.from(this.tags), keys: Array.from(this.keys) };
    let ok: boolean;
    try {
      ok = await apply(work);
    } catch {
      ok = false;
    }
    if (!ok) return false;
    if (work.clear && this.clears === clears) this.clear = false;
    for (const tag of work.tags) this.tags.delete(tag);
    for (const key of work.keys) this.keys.delete(key);
    return this.empty;
  }

  /** Too much to remember one by one: a clear covers it all. */
  private bound(): void {
    if (this.tags.size + this.keys.size <= MAX_PENDING) return;
    this.tags.clear();
    this.keys.clear();
    this.clear = true;
    this.clears += 1;
  }
}
