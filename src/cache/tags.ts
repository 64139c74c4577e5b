import { randomInt } from 'node:crypto';
import type { NormalizedBackend } from './backends/normalize.ts';
import type { TagVersions } from './codec.ts';
import { earliest } from './expiry.ts';
import { tagKey } from './keys.ts';

/**
 * Tag invalidation without key scans, on every backend.
 *
 * Each tag has a version stored in the backend under `tagKey(tag)` (keys.ts) with no expiry. An entry
 * stored with tags records the version of each tag at the time its value was computed; reading
 * it fetches the current versions in one `getMany` and treats any difference as a miss.
 *
 * Versions are random 48-bit integers rather than counters: invalidating writes a fresh one, so
 * a tag key that is evicted, cleared or lost and then recreated can never come back with a
 * version an old entry recorded. A tag key that is absent when an entry is read counts as a
 * mismatch (the entry is stale), because every stored entry recorded a version that existed
 * when it was written. The worst a lost tag key costs is extra misses, never a stale hit.
 */

/** A fresh random version for a tag or a memoized function. */
export function freshVersion(): string {
  return String(randomInt(1, 2 ** 48));
}

/** Reads, creates and replaces tag versions in a backend. */
export class TagStore {
  constructor(private readonly backend: NormalizedBackend) {}

  /**
   * The current version of each tag, creating absent ones. Call it before computing a value
   * that will be stored with these tags, so an invalidation during the computation wins.
   */
  async current(tags: readonly string[]): Promise<TagVersions> {
    const names = Array.from(new Set(tags));
    const versions = await this.backend.getMany(names.map(tagKey));
    const out: TagVersions = {};
    await Promise.all(
      names.map(async (name, i) => {
        let version = versions[i];
        if (version === undefined) {
          const candidate = freshVersion();
          // Another process may create it at the same moment: `add` lets exactly one win.
          version = (await this.backend.add(tagKey(name), candidate, 0)) ? candidate : await this.backend.get(tagKey(name));
          if (version === undefined) throw new Error(`tag ${JSON.stringify(name)} version could not be stored`);
        }
        out[name] = version;
      }),
    );
    return out;
  }

  /** For each recorded set of versions (or none), whether all still match the current ones. */
  async fresh(records: ReadonlyArray<TagVersions | undefined>): Promise<boolean[]> {
    const names = Array.from(new Set(records.flatMap((record) => (record ? Object.keys(record) : []))));
    if (names.length === 0) return records.map(() => true);
    const versions = await this.backend.getMany(names.map(tagKey));
    const current = new Map(names.map((name, i) => [name, versions[i]]));
    return records.map(
      (record) =>
        record === undefined ||
        Object.entries(record).every(([name, version]) => current.get(name) === version),
    );
  }

  /**
   * Whether the recorded versions all still match, and when the earliest of the versions read
   * expires (0 = never), decided without waiting when the backend can peek at the tag keys (see
   * `SyncReads.peekMany`); undefined when it cannot tell.
   */
  peekFresh(record: TagVersions): { fresh: boolean; until: number } | undefined {
    const names = Object.keys(record);
    const versions = this.backend.syncReads?.peekMany(names.map(tagKey));
    if (versions === undefined) return undefined;
    let until = 0;
    let fresh = true;
    names.forEach((name, i) => {
      const version = versions[i];
      if (version?.value !== record[name]) fresh = false;
      if (version !== undefined) until = earliest(until, version.expiresAt);
    });
    return { fresh, until };
  }

  /** Gives each tag a fresh version, making every entry stored under the old one a miss. */
  async invalidate(tags: readonly string[]): Promise<void> {
    const entries = Array.from(new Set(tags), (name) => [tagKey(name), freshVersion()] as const);
    await this.backend.setMany(entries, 0);
  }
}
