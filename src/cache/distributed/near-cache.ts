import type { AnyBackend, BreakerState, ChangeNotifications, ExpiringReads, SyncReads } from '../backends/capabilities.ts';
import { MemoryStore } from '../backends/memory.ts';
import { normalizeBackend, type NormalizedBackend } from '../backends/normalize.ts';
import { CACHE_DEFAULTS } from '../defaults.ts';
import { expiryOf } from '../expiry.ts';
import { isVersionKey } from '../keys.ts';
import { systemClock, type BackendStats, type CacheBackend, type CacheLock, type Clock, type PeekedEntry, type Seconds } from '../types.ts';
import type { Coherence } from './coherence/coherence.ts';
import type { Invalidation } from './coherence/wire.ts';

/** Options of {@link NearCacheBackend}. */
export interface NearCacheBackendOptions {
  /** The shared store (Redis); the near layer sits in front of it. */
  remote: AnyBackend;
  /** Most bytes of near copies (default 16 MiB; counted as the memory backend counts them). */
  maxBytes?: number;
  /** Most near copies (default 100,000); the least recently used go first. */
  maxEntries?: number;
  /**
   * Longest a near copy is kept, in seconds (default 10): the bound on staleness should an
   * invalidation ever be missed without any sign of it. Entries with a shorter timeout keep theirs.
   */
  maxTtl?: Seconds;
  /**
   * Announces this process's changes and applies the others' (coherence.ts). Without it the near
   * layer assumes it is the only writer: other processes' changes show after `maxTtl` at worst.
   */
  coherence?: Coherence;
  /** Remaining-time reads of the remote; default the remote's own `getManyWithTtl`, if any. */
  reads?: ExpiringReads;
  /** Time source for near expiry. */
  clock?: Clock;
}

/** @deprecated Use `CACHE_DEFAULTS.near.maxBytes` (defaults.ts). */
export const DEFAULT_NEAR_MAX_BYTES = CACHE_DEFAULTS.near.maxBytes;
/** @deprecated Use `CACHE_DEFAULTS.near.maxTtl` (defaults.ts). */
export const DEFAULT_NEAR_TTL = CACHE_DEFAULTS.near.maxTtl;

/**
 * A near cache: a bounded in-process LRU of recently used entries in front of a shared remote
 * backend, so a hit costs no network at all.
 *
 * Reads look near first, then fetch from the remote and keep a copy (for no longer than the
 * remote entry has left, and at most `maxTtl`). Writes go to the remote and drop the key here,
 * then are announced through {@link Coherence}; invalidations (delete, deleteMany, clear, and
 * writes of tag or memoize versions) resolve once every other process dropped its copy too,
 * plain overwrites at once (announced in the background). Only reads keep copies, and a read that
 * was in flight while its key changed (here or elsewhere) keeps nothing: it may be the old value.
 * While coherence is not live (starting, or the subscription lost) the near layer is empty and
 * bypassed: every read goes to the remote.
 *
 * @example
 * const remote = new RedisBackend({ url, prefix: 'kiln:' });
 * const coherence = new Coherence({ link: remote.coherenceLink(), scope: 'kiln:' });
 * const cache = new Cache({ backend: new NearCacheBackend({ remote, coherence }) });
 */
export class NearCacheBackend implements CacheBackend, SyncReads, ChangeNotifications {
  /** The remote's name: stats and metrics describe the shared store. */
  readonly name: string;
  /** The near copies (inspectable in tests and stats). */
  readonly near: MemoryStore;
  /** The shared store behind, as given. */
  readonly remote: AnyBackend;
  /** The remote's distributed lock, when it has one. */
  readonly lock?: (key: string, ttlMs: number) => Promise<CacheLock | undefined>;
  /** Values with the remote's remaining TTL (not the near copy's), where the remote can tell: for inspection (the dev toolbar). */
  readonly getManyWithTtl?: (keys: readonly string[]) => Promise<({ value: string; ttl: Seconds } | undefined)[]>;
  /** The remote's atomic counter, keeping near copies coherent, when it has one. */
  readonly incr?: (key: string, delta: number) => Promise<number>;
  /** The remote's own size figures, when it reports them. */
  readonly stats?: () => Promise<BackendStats>;
  /** The shared store behind, as this layer calls it. */
  private readonly store: NormalizedBackend;
  private readonly coherence: Coherence | undefined;
  private readonly reads: ExpiringReads | undefined;
  private readonly maxTtl: Seconds;
  private readonly clock: Clock;
  /** Reads in flight, by key: a read keeps its result only if its token is still there. */
  private readonly pending = new Map<string, object>();
  /** Callers of `waitForChange`, by key. */
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(options: NearCacheBackendOptions) {
    const remote = options.remote;
    const store = normalizeBackend(remote);
    this.remote = remote;
    this.store = store;
    this.name = remote.name;
    this.near = new MemoryStore({ maxBytes: options.maxBytes ?? CACHE_DEFAULTS.near.maxBytes, threshold: options.maxEntries ?? CACHE_DEFAULTS.near.maxEntries });
    this.maxTtl = options.maxTtl ?? CACHE_DEFAULTS.near.maxTtl;
    if (!(this.maxTtl > 0)) throw new RangeError(`NearCacheBackend: maxTtl must be a positive number of seconds, got ${this.maxTtl}`);
    this.clock = options.clock ?? systemClock;
    this.coherence = options.coherence;
    this.reads = options.reads ?? store.expiringReads;
    const reads = this.reads;
    if (reads) this.getManyWithTtl = (keys) => reads.getManyWithTtl(keys);
    const locks = store.locks;
    if (locks) this.lock = (key, ttlMs) => locks.lock(key, ttlMs);
    // Offered only where the remote offers them, so the cache derives the others through this layer.
    if (remote.incr) this.incr = (key, delta) => this.changeRemote([key], () => store.incr(key, delta));
    if (remote.stats) this.stats = () => store.stats();
    this.coherence?.onInvalidate((what) => this.dropCopies(what));
  }

  /** The remote's circuit-breaker state, for health and metrics (see breaker.ts). */
  get breakerState(): BreakerState | undefined {
    return this.store.breaker?.breakerState;
  }

  /** Whether near copies may be served and kept now. */
  get nearLive(): boolean {
    return this.coherence?.live ?? true;
  }

  /** Resolves once near copies may be served (at once without coherence); for start-up and tests. */
  whenLive(): Promise<void> {
    return this.coherence?.ready() ?? Promise.resolve();
  }

  /** The near copy, else the remote's value (then kept near). */
  async get(key: string): Promise<string | undefined> {
    if (this.nearLive) {
      const hit = this.near.read(key, this.clock, true);
      if (hit) return hit.value;
    }
    return (await this.fetch([key]))[0];
  }

  /** Near copies where there are some, one remote round trip for the rest. */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = new Array<string | undefined>(keys.length).fill(undefined);
    const missing: number[] = [];
    const live = this.nearLive;
    keys.forEach((key, i) => {
      const hit = live ? this.near.read(key, this.clock, true) : undefined;
      if (hit) out[i] = hit.value;
      else missing.push(i);
    });
    if (missing.length === 0) return out;
    const fetched = await this.fetch(missing.map((i) => keys[i]));
    missing.forEach((i, j) => (out[i] = fetched[j]));
    return out;
  }

  /** Answers only when every key has a near copy (and near copies may be served). */
  peekMany(keys: readonly string[]): PeekedEntry[] | undefined {
    if (!this.nearLive) return undefined;
    const out: PeekedEntry[] = [];
    for (const key of keys) {
      const hit = this.near.read(key, this.clock, true);
      if (hit === undefined) return undefined;
      out.push(hit);
    }
    return out;
  }

  /**
   * The near layer's change count while coherence is live: every copy kept or dropped (here,
   * or on another process's announcement) changes it. A copy's expiry is at most `maxTtl`.
   */
  contentVersion(): number | undefined {
    return this.nearLive ? this.near.changeCount : undefined;
  }

  /** Whether a live entry exists, near or remote. */
  async has(key: string): Promise<boolean> {
    if (this.nearLive && this.near.read(key, this.clock, false)) return true;
    return this.store.has(key);
  }

  /** Stores remotely and resolves once every process (this one included) dropped its copy. */
  set(key: string, value: string, ttl: Seconds): Promise<void> {
    return this.changeRemote([key], () => this.store.set(key, value, ttl));
  }

  /** Stores many entries remotely (tag invalidation writes here) and announces them in one message. */
  setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    return this.changeRemote(
      entries.map(([key]) => key),
      () => this.store.setMany(entries, ttl),
    );
  }

  /** Stores only if the remote holds nothing under `key`; announced when it stored. */
  async add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    this.dropLocalCopies([key]);
    let stored: boolean;
    try {
      stored = await this.store.add(key, value, ttl);
    } finally {
      this.dropLocalCopies([key]);
    }
    if (stored) await this.announce([key], isInvalidation([key]));
    return stored;
  }

  /** Removes the key everywhere: remote, here, and every other process's near layer. */
  delete(key: string): Promise<boolean> {
    return this.changeRemote([key], () => this.store.delete(key), true);
  }

  /** Removes many keys everywhere, announced in one message. */
  deleteMany(keys: readonly string[]): Promise<number> {
    return this.changeRemote(keys, () => this.store.deleteMany(keys), true);
  }

  /** Clears the remote prefix and every process's whole near layer. */
  async clear(): Promise<void> {
    this.dropCopies('all');
    try {
      await this.store.clear();
    } finally {
      this.dropCopies('all');
    }
    await this.announce('all', true);
  }

  /** Resolves when another process announces a change of `key` (or everything), or after `timeoutMs`. */
  waitForChange(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.watchers.get(key) ?? new Set<() => void>();
      this.watchers.set(key, set);
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      set.add(wake);
    });
  }

  /** Entries and bytes of the near layer (the remote's figures are in `stats()`). */
  nearStats(): BackendStats {
    return this.near.stats();
  }

  /** Stops coherence and closes the remote. */
  async close(): Promise<void> {
    await this.coherence?.close();
    await this.store.close();
  }

  /**
   * Runs a remote change of `keys`: near copies and in-flight reads of them are dropped before
   * and after (a read racing the change may carry the old value), then the change is announced,
   * waiting for every process's confirmation when it is an invalidation.
   */
  private async changeRemote<T>(keys: readonly string[], change: () => Promise<T>, invalidation = isInvalidation(keys)): Promise<T> {
    this.dropLocalCopies(keys);
    let result: T;
    try {
      result = await change();
    } finally {
      this.dropLocalCopies(keys);
    }
    await this.announce(keys, invalidation);
    return result;
  }

  /** Invalidations are confirmed by every process before resolving; overwrites go in the background. */
  private async announce(what: Invalidation, invalidation: boolean): Promise<void> {
    if (invalidation) await this.coherence?.publishInvalidation(what);
    else this.coherence?.announceOverwrite(what);
  }

  /** Fetches from the remote and keeps what no change overtook. */
  private async fetch(keys: readonly string[]): Promise<(string | undefined)[]> {
    const tokens = this.nearLive ? keys.map((key) => this.reading(key)) : undefined;
    try {
      if (this.reads) {
        const entries = await this.reads.getManyWithTtl(keys);
        if (tokens) entries.forEach((entry, i) => entry && this.keepRead(keys[i], entry.value, entry.ttl, tokens[i]));
        return entries.map((entry) => entry?.value);
      }
      const values = keys.length === 1 ? [await this.store.get(keys[0])] : await this.store.getMany(keys);
      if (tokens) values.forEach((value, i) => value !== undefined && this.keepRead(keys[i], value, 0, tokens[i]));
      return values;
    } finally {
      if (tokens) keys.forEach((key, i) => this.pending.get(key) === tokens[i] && this.pending.delete(key));
    }
  }

  private reading(key: string): object {
    const token = {};
    this.pending.set(key, token);
    return token;
  }

  /** Keeps a copy for the entry's remaining time, capped at `maxTtl`, unless a change overtook the read. */
  private keepRead(key: string, value: string, ttl: Seconds, token: object): void {
    if (this.pending.get(key) !== token || !this.nearLive) return;
    this.near.write(key, value, expiryOf(this.clock, ttl === 0 ? this.maxTtl : Math.min(ttl, this.maxTtl)));
  }

  private dropLocalCopies(keys: readonly string[]): void {
    for (const key of keys) {
      this.near.remove(key);
      this.pending.delete(key);
    }
  }

  /** Applies an invalidation from elsewhere: some keys, or everything (also every read in flight). */
  private dropCopies(what: Invalidation): void {
    if (what === 'all') {
      this.near.removePrefix('');
      this.pending.clear();
    } else this.dropLocalCopies(what);
    const keys = what === 'all' ? Array.from(this.watchers.keys()) : what;
    for (const key of keys) for (const wake of Array.from(this.watchers.get(key) ?? [])) wake();
  }
}

/** Whether writing these keys invalidates something: a tag or memoize version among them. */
function isInvalidation(keys: readonly string[]): boolean {
  return keys.some(isVersionKey);
}

