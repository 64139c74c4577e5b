import { systemClock, type BackendStats, type CacheBackend, type Clock, type Seconds } from '../types.ts';
import { checkDelta, expiryOf, isExpired, parseCounter } from './base.ts';

interface Entry {
  value: string;
  /** Absolute expiry in ms by the owning backend's clock; 0 = never. */
  expiresAt: number;
  size: number;
}

/** Bounds of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries kept (default 500, like `CACHE_THRESHOLD`); the least recently used go first. */
  threshold?: number;
  /**
   * Most bytes kept (default 64 MiB). An entry costs 2 bytes per UTF-16 code unit of its key
   * and value (how V8 may hold a string), without per-entry overhead; an entry larger than the
   * whole bound is not stored.
   */
  maxBytes?: number;
}

/** The default entry bound, as `CACHE_THRESHOLD`. */
export const DEFAULT_THRESHOLD = 500;
/** The default byte bound, as `CACHE_MAX_BYTES`. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * An LRU map of strings bounded by entry count and bytes, with lazy expiry (no timer per key).
 * Several {@link MemoryBackend}s with different prefixes may share one store.
 */
export class MemoryStore {
  readonly threshold: number;
  readonly maxBytes: number;
  private readonly map = new Map<string, Entry>();
  private bytes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`memory cache threshold must be a positive integer, got ${this.threshold}`);
    }
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1) {
      throw new RangeError(`memory cache maxBytes must be a positive integer, got ${this.maxBytes}`);
    }
  }

  /** The live entry under `key`, marking it most recently used when `touch` is set. */
  read(key: string, clock: Clock, touch: boolean): Entry | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (isExpired(clock, entry.expiresAt)) {
      this.remove(key);
      return undefined;
    }
    if (touch) {
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry;
  }

  /** Stores a value as most recently used, evicting the least recently used beyond the bounds. */
  write(key: string, value: string, expiresAt: number): void {
    const size = (key.length + value.length) * 2;
    this.remove(key);
    if (size > this.maxBytes) return;
    this.map.set(key, { value, expiresAt, size });
    this.bytes += size;
    while (this.map.size > this.threshold || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value);
    }
  }

  /** Removes a key; whether it was present (expired or not). */
  remove(key: string): boolean {
    const entry = this.map.get(key);
    if (entry === undefined) return false;
    this.map.delete(key);
    this.bytes -= entry.size;
    return true;
  }

  /** Removes every key starting with `prefix` (all keys for the empty prefix). */
  removePrefix(prefix: string): void {
    if (prefix === '') {
      this.map.clear();
      this.bytes = 0;
      return;
    }
    for (const key of Array.from(this.map.keys())) if (key.startsWith(prefix)) this.remove(key);
  }

  /** Entries and bytes held, expired ones included until touched or evicted. */
  stats(): BackendStats {
    return { entries: this.map.size, bytes: this.bytes };
  }
}

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions extends MemoryStoreOptions {
  /** Prepended to every key (default none). */
  prefix?: string;
  /** Time source for expiry. */
  clock?: Clock;
  /** A store shared with other backends; the bounds options are then ignored. */
  store?: MemoryStore;
}

/** A per-process LRU cache; fast, bounded, and lost on restart. */
export class MemoryBackend implements CacheBackend {
  readonly name = 'memory';
  readonly store: MemoryStore;
  private readonly prefix: string;
  private readonly clock: Clock;

  constructor(options: MemoryBackendOptions = {}) {
    this.prefix = options.prefix ?? '';
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryStore(options);
  }

  /** The stored string, or undefined. */
  async get(key: string): Promise<string | undefined> {
    return this.store.read(this.prefix + key, this.clock, true)?.value;
  }

  /** Stores a string. */
  async set(key: string, value: string, ttl: Seconds): Promise<void> {
    this.store.write(this.prefix + key, value, expiryOf(this.clock, ttl));
  }

  /** Stores only if absent. */
  async add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    if (this.store.read(this.prefix + key, this.clock, false)) return false;
    this.store.write(this.prefix + key, value, expiryOf(this.clock, ttl));
    return true;
  }

  /** Removes a key; whether a live entry existed. */
  async delete(key: string): Promise<boolean> {
    const live = this.store.read(this.prefix + key, this.clock, false) !== undefined;
    this.store.remove(this.prefix + key);
    return live;
  }

  /** Whether a live entry exists (does not count as a use for LRU). */
  async has(key: string): Promise<boolean> {
    return this.store.read(this.prefix + key, this.clock, false) !== undefined;
  }

  /** Removes this prefix's entries. */
  async clear(): Promise<void> {
    this.store.removePrefix(this.prefix);
  }

  /** Many values, in order. */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((key) => this.store.read(this.prefix + key, this.clock, true)?.value);
  }

  /** Stores many entries. */
  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    const expiresAt = expiryOf(this.clock, ttl);
    for (const [key, value] of entries) this.store.write(this.prefix + key, value, expiresAt);
  }

  /** Removes many keys; how many were live. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) {
      if (this.store.read(this.prefix + key, this.clock, false)) removed += 1;
      this.store.remove(this.prefix + key);
    }
    return removed;
  }

  /** Atomic (single-threaded) counter; keeps the entry's expiry. */
  async incr(key: string, delta: number): Promise<number> {
    checkDelta(delta);
    const entry = this.store.read(this.prefix + key, this.clock, true);
    const next = parseCounter(entry?.value, key) + delta;
    this.store.write(this.prefix + key, String(next), entry?.expiresAt ?? 0);
    return next;
  }

  /** Entries and bytes of the (possibly shared) store. */
  async stats(): Promise<BackendStats> {
    return this.store.stats();
  }
}
