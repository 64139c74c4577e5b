import { systemClock, type BackendStats, type CacheBackend, type Clock, type Seconds } from '../types.ts';
import type { SyncReads } from './capabilities.ts';
import { CACHE_DEFAULTS } from '../defaults.ts';
import { expiryOf, isExpired } from '../expiry.ts';
import { checkDelta, parseCounter } from './counter.ts';

/** A stored value as the store holds it: small strings as they are, large ones as UTF-8 bytes (see below). */
interface Held {
  /** The string, or bytes whose first `length` are its UTF-8. */
  held: string | Buffer;
  length: number;
  /** Absolute expiry in ms by the owning backend's clock; 0 = never. */
  expiresAt: number;
  size: number;
  /** Read since it was last passed over for eviction (second-chance LRU). */
  used: boolean;
}

/** A live entry read from a {@link MemoryStore}. */
export interface Entry {
  value: string;
  /** Absolute expiry in ms by the owning backend's clock; 0 = never. */
  expiresAt: number;
}

/**
 * Values of at least this many UTF-16 units are held as UTF-8 bytes outside the JS heap: their
 * memory is counted exactly, and the bytes of an evicted one hold the value that evicted it when
 * their sizes match (see `bytesFor`), so the process's memory stays near the configured bound
 * (page bodies are such values). Reading one decodes it again, which page hits avoid (pages keep
 * their bodies).
 */
export const OFF_HEAP_MIN_LENGTH = 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a value is held as bytes (a lone surrogate would not survive UTF-8: such strings stay strings). */
function heldAsBytes(value: string): boolean {
  return value.length >= OFF_HEAP_MIN_LENGTH && !LONE_SURROGATE.test(value);
}

/**
 * The bytes a value of `length` UTF-8 bytes is held in: rounded up to a sixteenth of its power of
 * two (at most 6 % more), so values of about the same size fit each other's bytes.
 */
export function heldCapacity(length: number): number {
  const step = 2 ** Math.max(6, Math.floor(Math.log2(length)) - 4);
  return Math.ceil(length / step) * step;
}

/**
 * Bytes for a value: those of an entry this write removed when they are the same size (the
 * replaced value or an evicted one, which nothing else holds), else new ones. A full cache thus
 * writes each new page into the bytes of the page it evicts, instead of leaving those as garbage
 * for the next full collection while the system allocator hands out more.
 */
function bytesFor(capacity: number, freed: Buffer[]): Buffer {
  const index = freed.findIndex((bytes) => bytes.length === capacity);
  if (index < 0) return Buffer.allocUnsafeSlow(capacity);
  const [bytes] = freed.splice(index, 1);
  return bytes;
}

/** Bounds of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries kept (default 500, like `CACHE_THRESHOLD`); the least recently used go first. */
  threshold?: number;
  /**
   * Most bytes kept (default 64 MiB). An entry costs 2 bytes per UTF-16 code unit of its key
   * and of a value shorter than {@link OFF_HEAP_MIN_LENGTH} (how V8 may hold a string), and the
   * bytes a longer value is held in (its UTF-8 length, rounded up by {@link heldCapacity}),
   * without per-entry overhead; an entry larger than the whole bound is not stored.
   */
  maxBytes?: number;
}

/** @deprecated Use `CACHE_DEFAULTS.memory.threshold` (defaults.ts). */
export const DEFAULT_THRESHOLD = CACHE_DEFAULTS.memory.threshold;
/** @deprecated Use `CACHE_DEFAULTS.memory.maxBytes` (defaults.ts). */
export const DEFAULT_MAX_BYTES = CACHE_DEFAULTS.memory.maxBytes;

/**
 * An LRU map of strings bounded by entry count and bytes, with lazy expiry (no timer per key).
 * Eviction is second-chance LRU: a read only marks its entry, and an entry read since it was
 * last considered is moved to the young end instead of being evicted, so reads (the hot path)
 * never reorder the map. Several {@link MemoryBackend}s with different prefixes may share one store.
 */
export class MemoryStore {
  readonly threshold: number;
  readonly maxBytes: number;
  private readonly map = new Map<string, Held>();
  private bytes = 0;
  private changes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.threshold = options.threshold ?? CACHE_DEFAULTS.memory.threshold;
    this.maxBytes = options.maxBytes ?? CACHE_DEFAULTS.memory.maxBytes;
    if (!Number.isSafeInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`memory cache threshold must be a positive integer, got ${this.threshold}`);
    }
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1) {
      throw new RangeError(`memory cache maxBytes must be a positive integer, got ${this.maxBytes}`);
    }
  }

  /** The live entry under `key`, marking it recently used when `touch` is set. */
  read(key: string, clock: Clock, touch: boolean): Entry | undefined {
    const held = this.map.get(key);
    if (held === undefined) return undefined;
    if (held.expiresAt !== 0 && isExpired(clock, held.expiresAt)) {
      this.remove(key);
      return undefined;
    }
    if (touch) held.used = true;
    const value = typeof held.held === 'string' ? held.held : held.held.toString('utf8', 0, held.length);
    return { value, expiresAt: held.expiresAt };
  }

  /** Stores a value as most recently used, first evicting the least recently used to make room. */
  write(key: string, value: string, expiresAt: number): void {
    this.changes += 1;
    const asBytes = heldAsBytes(value);
    const length = asBytes ? Buffer.byteLength(value, 'utf8') : value.length;
    const capacity = asBytes ? heldCapacity(length) : length * 2;
    const size = key.length * 2 + capacity;
    // The bytes of the entries this write removes, which the new value may reuse.
    const freed: Buffer[] = [];
    this.remove(key, freed);
    if (size > this.maxBytes) return;
    // Every entry gets at most one second chance per write, so this ends.
    let chances = this.map.size;
    while (this.map.size > 0 && (this.map.size >= this.threshold || this.bytes + size > this.maxBytes)) {
      const oldest = this.map.entries().next();
      if (oldest.done) break;
      const [name, held] = oldest.value;
      if (held.used && chances-- > 0) {
        held.used = false;
        this.map.delete(name);
        this.map.set(name, held);
      } else {
        this.remove(name, freed);
      }
    }
    let held: string | Buffer = value;
    if (asBytes) {
      held = bytesFor(capacity, freed);
      held.write(value, 0, 'utf8');
    }
    this.map.set(key, { held, length, expiresAt, size, used: false });
    this.bytes += size;
  }

  /** Removes a key; whether it was present (expired or not). Its bytes go to `freed` when given. */
  remove(key: string, freed?: Buffer[]): boolean {
    const held = this.map.get(key);
    if (held === undefined) return false;
    this.changes += 1;
    this.map.delete(key);
    this.bytes -= held.size;
    if (freed !== undefined && typeof held.held !== 'string') freed.push(held.held);
    return true;
  }

  /** Removes every key starting with `prefix` (all keys for the empty prefix). */
  removePrefix(prefix: string): void {
    this.changes += 1;
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

  /** How many changes (writes, removals, evictions) the store has had: a content version. */
  get changeCount(): number {
    return this.changes;
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
export class MemoryBackend implements CacheBackend, SyncReads {
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
    return this.peekMany(keys).map((entry) => entry?.value);
  }

  /** Always answers: every entry is in this process. */
  peekMany(keys: readonly string[]): (Entry | undefined)[] {
    return keys.map((key) => this.store.read(this.prefix + key, this.clock, true));
  }

  /** The store's change count (shared by every prefix on the store, so any change counts). */
  contentVersion(): number {
    return this.store.changeCount;
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
