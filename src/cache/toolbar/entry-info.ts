import type { Cache } from '../cache.ts';
import { decodeEntry } from '../codec.ts';

/** What the toolbar can tell about one cache entry now. */
export interface EntryInfo {
  key: string;
  /** Whether the backend holds the key now. */
  exists: boolean;
  /**
   * Remaining time to live: seconds, `null` when it never expires, or `undefined` when the backend
   * cannot tell (then `ttlText` says so).
   */
  ttlSeconds?: number | null;
  /** The TTL in words. */
  ttlText: string;
  /** Tags the entry was stored under (from its envelope); empty when none. */
  tags: string[];
  /** Characters of the stored string. */
  bytes?: number;
}

/**
 * Reads one entry's remaining TTL and tags straight from the backend, without counting as a
 * lookup: the TTL from the backend's expiring reads (Redis `PTTL`) or its synchronous reads (memory,
 * filesystem: the stored expiry); a backend with neither is asked for the value only, and the TTL
 * is reported as unknown. The tags come from the stored envelope (codec.ts).
 */
export async function entryInfo(cache: Pick<Cache, 'store' | 'clock'>, key: string): Promise<EntryInfo> {
  const { store } = cache;
  let value: string | undefined;
  let ttlSeconds: number | null | undefined;
  if (store.expiringReads) {
    const [read] = await store.expiringReads.getManyWithTtl([key]);
    value = read?.value;
    ttlSeconds = read === undefined ? undefined : read.ttl === 0 ? null : read.ttl;
  } else {
    const peeked = peek(cache, key);
    if (peeked !== false) {
      value = peeked?.value;
      ttlSeconds = peeked === undefined ? undefined : peeked.expiresAt === 0 ? null : Math.max(0, (peeked.expiresAt - cache.clock.now()) / 1000);
    } else {
      value = await store.get(key);
    }
  }
  const known = store.expiringReads !== undefined || store.syncReads !== undefined;
  return { key, exists: value !== undefined, ...ttlOf(value, ttlSeconds, known, store.name), tags: tagsOf(value), ...(value === undefined ? {} : { bytes: value.length }) };
}

/** The synchronous read of one entry, or false when the backend cannot answer it now. */
function peek(cache: Pick<Cache, 'store'>, key: string): { value: string; expiresAt: number } | undefined | false {
  try {
    const answer = cache.store.syncReads?.peekMany([key]);
    return answer === undefined ? false : answer[0];
  } catch {
    return false;
  }
}

function ttlOf(value: string | undefined, seconds: number | null | undefined, known: boolean, backend: string): Pick<EntryInfo, 'ttlSeconds' | 'ttlText'> {
  if (value === undefined) return { ttlText: 'not in the cache' };
  if (!known || seconds === undefined) return { ttlText: `the ${backend} backend cannot tell an entry's remaining time` };
  if (seconds === null) return { ttlSeconds: null, ttlText: 'never expires' };
  return { ttlSeconds: Math.round(seconds * 10) / 10, ttlText: `${Math.round(seconds)} s left` };
}

function tagsOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  try {
    return Object.keys(decodeEntry(value).tags ?? {});
  } catch {
    return [];
  }
}
