import type { BackendStats, CacheBackend, Seconds } from '../types.ts';
import {
  hasBreaker,
  hasChangeNotifications,
  hasExpiringReads,
  hasLocks,
  hasSyncReads,
  type AnyBackend,
  type BreakerStatus,
  type ChangeNotifications,
  type DistributedLocks,
  type ExpiringReads,
  type SyncReads,
} from './capabilities.ts';
import { parseCounter } from './counter.ts';

/** A backend as the cache uses it: every batch operation present, capabilities resolved once. */
export interface NormalizedBackend {
  readonly name: string;
  /** The object given, for inspection. */
  readonly original: AnyBackend;
  get(key: string): Promise<string | undefined>;
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  set(key: string, value: string, ttl: Seconds): Promise<void>;
  setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void>;
  add(key: string, value: string, ttl: Seconds): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  deleteMany(keys: readonly string[]): Promise<number>;
  has(key: string): Promise<boolean>;
  /** Atomic when the backend has `incr`; else get + set, stored with no expiry (the old timeout is unknown). */
  incr(key: string, delta: number): Promise<number>;
  clear(): Promise<void>;
  /** `{}` when the backend reports nothing. */
  stats(): Promise<BackendStats>;
  /** A no-op when the backend has nothing to release. */
  close(): Promise<void>;
  readonly syncReads: SyncReads | undefined;
  readonly locks: DistributedLocks | undefined;
  readonly changes: ChangeNotifications | undefined;
  readonly expiringReads: ExpiringReads | undefined;
  readonly breaker: BreakerStatus | undefined;
}

/**
 * Wraps `backend` once so every batch operation exists (derived from the primitives when
 * absent) and each optional capability is found, or known absent, at construction.
 *
 * @example
 * const store = normalizeBackend(new FilesystemBackend({ dir: 'data/cache' }));
 * await store.setMany([['a', '1'], ['b', '2']], 60); // two writes through `set`
 */
export function normalizeBackend(backend: AnyBackend): NormalizedBackend {
  // Batch members and stats are looked up on each call, so one set on the object later is used.
  return {
    name: backend.name,
    original: backend,
    get: (key) => backend.get(key),
    getMany: (keys) => (backend.getMany ? backend.getMany(keys) : getManyVia(backend, keys)),
    set: (key, value, ttl) => backend.set(key, value, ttl),
    setMany: (entries, ttl) => (backend.setMany ? backend.setMany(entries, ttl) : setManyVia(backend, entries, ttl)),
    add: (key, value, ttl) => backend.add(key, value, ttl),
    delete: (key) => backend.delete(key),
    deleteMany: (keys) => (backend.deleteMany ? backend.deleteMany(keys) : deleteManyVia(backend, keys)),
    has: (key) => backend.has(key),
    incr: (key, delta) => (backend.incr ? backend.incr(key, delta) : incrVia(backend, key, delta)),
    clear: () => backend.clear(),
    stats: async () => (backend.stats ? backend.stats() : {}),
    close: async () => {
      if (backend.close) await backend.close();
    },
    syncReads: syncReadsOf(backend),
    locks: hasLocks(backend) ? backend : undefined,
    changes: hasChangeNotifications(backend) ? backend : undefined,
    expiringReads: hasExpiringReads(backend) ? backend : undefined,
    breaker: hasBreaker(backend) ? backend : undefined,
  };
}

/** The backend itself when it reads synchronously; one without `contentVersion` never vouches for what it read. */
function syncReadsOf(backend: AnyBackend): SyncReads | undefined {
  if (hasSyncReads(backend)) return backend;
  if (backend.peekMany === undefined) return undefined;
  return { peekMany: (keys) => backend.peekMany?.(keys), contentVersion: () => undefined };
}

function getManyVia(backend: CacheBackend, keys: readonly string[]): Promise<(string | undefined)[]> {
  return Promise.all(keys.map((key) => backend.get(key)));
}

async function setManyVia(backend: CacheBackend, entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
  await Promise.all(entries.map(([key, value]) => backend.set(key, value, ttl)));
}

async function deleteManyVia(backend: CacheBackend, keys: readonly string[]): Promise<number> {
  const removed = await Promise.all(keys.map((key) => backend.delete(key)));
  return removed.filter(Boolean).length;
}

/** Not atomic across processes, and stored with no expiry: a plain backend does not say the old timeout. */
async function incrVia(backend: CacheBackend, key: string, delta: number): Promise<number> {
  const next = parseCounter(await backend.get(key), key) + delta;
  await backend.set(key, String(next), 0);
  return next;
}
