import type { EventEmitter } from 'node:events';
import type { AnyBackend } from './backends/capabilities.ts';
import { checkDelta } from './backends/counter.ts';
import { normalizeBackend, type NormalizedBackend } from './backends/normalize.ts';
import { encodeNotFound, encodeValue, MAX_ENTRY_LENGTH, type TagVersions } from './codec.ts';
import { CACHE_DEFAULTS } from './defaults.ts';
import {
  cached,
  deleteMemoized,
  memoize,
  type CachedFunction,
  type CachedOptions,
  type MemoizedFunction,
  type MemoizeOptions,
} from './memoize.ts';
import { lockKey } from './keys.ts';
import { PendingInvalidations } from './pending.ts';
import { EntryReader } from './reader.ts';
import { distributedFlight, SingleFlight } from './single-flight.ts';
import { TagStore } from './tags.ts';
import { now, Telemetry, type CacheHealth, type CacheLogger, type CacheStats } from './telemetry.ts';
import {
  systemClock,
  type CacheOp,
  type Clock,
  type GetOptions,
  type GetOrSetOptions,
  type Seconds,
  type SetOptions,
} from './types.ts';

export type { GetOrSetOptions } from './types.ts';

/** Options of a {@link Cache}; every one but `backend` has a default. */
export interface CacheOptions {
  /** Where entries live: any {@link CacheBackend}, with whichever capabilities it has (backends/capabilities.ts). */
  backend: AnyBackend;
  /** Seconds an entry lives when a call names no timeout (default 300, as `CACHE_DEFAULT_TIMEOUT`). */
  defaultTimeout?: Seconds;
  /** Fraction 0..1: a timeout t is stored as a random value in [t × (1 − jitter), t] (default 0). */
  jitter?: number;
  /** Random source in [0, 1) for jitter (default Math.random); injected by tests. */
  random?: () => number;
  /** Time source (default the wall clock). */
  clock?: Clock;
  /** Re-raise backend errors instead of failing open (for tests). */
  throwOnErrors?: boolean;
  /** Where state changes are logged (default the console). */
  logger?: CacheLogger;
  /**
   * Milliseconds a distributed single-flight lock lives at most, when the backend has `lock`
   * (default 5000): a crashed holder delays the other processes by no more than this.
   */
  lockTtlMs?: number;
}

/**
 * The cache facade: typed values over any `CacheBackend`, with default and jittered
 * timeouts, tags, single-flight `getOrSet`, memoization, an event per operation, counters, and
 * fail-open error handling (a backend error is a miss or a no-op, logged once per state change).
 *
 * @example
 * const cache = new Cache({ backend: new MemoryBackend({ prefix: 'kiln:' }) });
 * const posts = await cache.getOrSet('posts:1', () => loadPosts(1), { timeout: 60, tags: ['posts'] });
 */
export class Cache {
  /** Where entries live: the backend as given. */
  readonly backend: AnyBackend;
  /** The backend as the cache uses it: every batch operation present, its capabilities found once. */
  readonly store: NormalizedBackend;
  /** Seconds an entry lives when a call names no timeout. */
  readonly defaultTimeout: Seconds;
  /** The time source given at construction, for layers built on the cache. */
  readonly clock: Clock;
  /** Emits `'op'` with a CacheEvent for every operation, including each memoize and getOrSet lookup. */
  readonly events: EventEmitter;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly telemetry: Telemetry;
  private readonly tagStore: TagStore;
  private readonly reader: EntryReader;
  private readonly flights = new SingleFlight();
  /**
   * Bumped by every invalidation and clear: part of each flight's key, so a `getOrSet` after an
   * invalidation never joins a computation that started before it (and may have read old data).
   */
  private generation = 0;
  /** Invalidations that failed and are replayed until the backend takes them (pending.ts). */
  private readonly pending = new PendingInvalidations();
  private readonly lockTtlMs: number;

  constructor(options: CacheOptions) {
    this.backend = options.backend;
    this.store = normalizeBackend(options.backend);
    this.defaultTimeout = checkTimeout(options.defaultTimeout ?? CACHE_DEFAULTS.cache.defaultTimeout, 'defaultTimeout');
    this.jitter = options.jitter ?? CACHE_DEFAULTS.cache.jitter;
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError(`jitter must be within 0..1, got ${this.jitter}`);
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
    this.lockTtlMs = options.lockTtlMs ?? CACHE_DEFAULTS.cache.lockTtlMs;
    if (!Number.isSafeInteger(this.lockTtlMs) || this.lockTtlMs < 1) {
      throw new RangeError(`lockTtlMs must be a positive integer, got ${this.lockTtlMs}`);
    }
    this.telemetry = new Telemetry(this.backend.name, options.logger ?? console, options.throwOnErrors ?? false);
    this.events = this.telemetry.events;
    this.tagStore = new TagStore(this.store);
    this.reader = new EntryReader(this.store, this.telemetry, this.tagStore, this.clock, () => this.hasPendingInvalidations());
  }

  /** The value under `key`, or undefined on a miss (absent, expired, invalidated, corrupt or a backend error). */
  async get<T = unknown>(key: string, opts: GetOptions = {}): Promise<T | undefined> {
    const entry = await this.reader.lookup('get', key, opts);
    return entry?.kind === 'value' ? (entry.value as T) : undefined;
  }

  /**
   * What `get(key)` would resolve, decided in this tick when the backend can read without waiting
   * (memory, Redis's near cache, the filesystem): `{ value }` (undefined: a miss), counted like a
   * `get`; undefined when it cannot tell: then call `get`. Small plain values are frozen, shared.
   */
  peek<T = unknown>(key: string, opts: GetOptions = {}): { value: T | undefined } | undefined {
    const peeked = this.reader.peek('get', key, opts);
    if (peeked === undefined) return undefined;
    return { value: peeked.entry?.kind === 'value' ? (peeked.entry.value as T) : undefined };
  }

  /** Whether `key` holds a value a `get` would return. */
  async has(key: string, opts: GetOptions = {}): Promise<boolean> {
    return (await this.reader.lookup('has', key, opts))?.kind === 'value';
  }

  /** Values for many keys, in order, undefined for each miss. */
  async getMany<T = unknown>(keys: readonly string[], opts: GetOptions = {}): Promise<(T | undefined)[]> {
    const entries = await this.reader.lookupMany('get', keys, opts);
    return entries.map((entry) => (entry?.kind === 'value' ? (entry.value as T) : undefined));
  }

  /** Stores a value (null included; undefined is a TypeError); resolves false when the backend failed. */
  async set(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    return this.write('set', key, (tags) => encodeValue(value, tags), this.ttl(opts.timeout), opts);
  }

  /** Stores a value only if `key` holds none; resolves whether it stored. */
  async add(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    return this.write('add', key, (tags) => encodeValue(value, tags), this.ttl(opts.timeout), opts);
  }

  /** Stores many values with one timeout (and one set of tags); resolves false when the backend failed. */
  async setMany(entries: Record<string, unknown> | ReadonlyArray<readonly [string, unknown]>, opts: SetOptions = {}): Promise<boolean> {
    const pairs = Array.isArray(entries) ? entries : Object.entries(entries);
    const ttl = this.ttl(opts.timeout);
    const start = now();
    const tags = await this.tagsFor(opts, start, pairs.map(([key]) => key), 'set');
    if (tags === false) return false;
    const encoded = pairs.map(([key, value]) => [key, encodeValue(value, tags)] as const);
    const stored = await this.telemetry.attempt(() => this.store.setMany(encoded, ttl));
    for (const [key, raw] of encoded) {
      if (stored.ok) this.telemetry.emit('set', key, 'set', opts, start, Buffer.byteLength(raw));
      else this.telemetry.fail('set', key, opts, start, stored.error);
    }
    return stored.ok;
  }

  /** Removes `key`; resolves whether it existed. */
  async delete(key: string, opts: GetOptions = {}): Promise<boolean> {
    const start = now();
    const removed = await this.telemetry.attempt(() => this.store.delete(key));
    if (!removed.ok) {
      this.pending.addKeys([key]);
      return this.telemetry.fail('delete', key, opts, start, removed.error) ?? false;
    }
    this.telemetry.emit('delete', key, removed.value ? 'delete' : 'miss', opts, start);
    return removed.value;
  }

  /** Removes many keys; resolves how many existed (0 when the backend failed). */
  async deleteMany(keys: readonly string[], opts: GetOptions = {}): Promise<number> {
    const start = now();
    const removed = await this.telemetry.attempt(() => this.store.deleteMany(keys));
    if (!removed.ok) this.pending.addKeys(keys);
    for (const key of keys) {
      if (removed.ok) this.telemetry.emit('delete', key, 'delete', opts, start);
      else this.telemetry.fail('delete', key, opts, start, removed.error);
    }
    return removed.ok ? removed.value : 0;
  }

  /** Removes every entry under the backend's prefix (and nothing else); resolves false on failure. */
  async clear(): Promise<boolean> {
    const start = now();
    this.generation += 1;
    const cleared = await this.telemetry.attempt(() => this.store.clear());
    if (!cleared.ok) {
      this.pending.addClear();
      return this.telemetry.fail('clear', '*', {}, start, cleared.error) ?? false;
    }
    this.telemetry.emit('clear', '*', 'delete', {}, start);
    return true;
  }

  /**
   * Adds `delta` to the integer at `key` (absent counts as 0) and resolves the new value, or
   * undefined when the backend failed or the entry is not an integer. Atomic when the backend
   * has `incr`; otherwise derived from get and set.
   */
  async incr(key: string, delta = 1, opts: GetOptions = {}): Promise<number | undefined> {
    checkDelta(delta);
    const start = now();
    const result = await this.telemetry.attempt(() => this.store.incr(key, delta));
    if (!result.ok) return this.telemetry.fail('incr', key, opts, start, result.error);
    this.telemetry.emit('incr', key, 'set', opts, start);
    return result.value;
  }

  /** Subtracts `delta` from the integer at `key`; see {@link Cache.incr}. */
  decr(key: string, delta = 1, opts: GetOptions = {}): Promise<number | undefined> {
    checkDelta(delta);
    return this.incr(key, -delta, opts);
  }

  /**
   * The cached value of `key`, or the result of `compute` stored under it. Concurrent calls for
   * one key share a single computation and its error; errors are never stored. When the backend
   * has distributed locks, concurrent misses in other processes wait for this one's value too (single-flight.ts).
   */
  async getOrSet<T>(key: string, compute: () => T | Promise<T>, opts: GetOrSetOptions<T> = {}): Promise<T> {
    if (opts.unless?.()) return compute();
    const forced = opts.forcedUpdate?.() ?? false;
    checkTimeout(opts.timeout ?? this.defaultTimeout, 'timeout');
    const flight = `${this.generation}\u0000${forced ? 'forced' : ''}\u0000${key}`;
    return this.flights.run(flight, () => this.fill(key, compute, opts, forced));
  }

  /** Makes every entry stored with any of these tags a miss, on every backend, without a key scan. */
  async invalidateTags(tags: readonly string[], opts: GetOptions = {}): Promise<boolean> {
    const start = now();
    this.generation += 1;
    const done = await this.telemetry.attempt(() => this.tagStore.invalidate(tags));
    if (!done.ok) this.pending.addTags(tags);
    for (const tag of tags) {
      if (done.ok) this.telemetry.emit('invalidateTags', tag, 'delete', opts, start);
      else this.telemetry.fail('invalidateTags', tag, opts, start, done.error);
    }
    return done.ok;
  }

  /** Wraps `fn` so its results are cached by arguments; see memoize.ts. */
  memoize<A extends unknown[], R>(fn: (...args: A) => R, opts: MemoizeOptions<A, Awaited<R>> = {}): MemoizedFunction<A, R> {
    return memoize(this, fn, opts);
  }

  /** Drops every cached result of a memoized function, or with arguments the one for those arguments. */
  deleteMemoized<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A | []): Promise<boolean> {
    return deleteMemoized(this, fn, ...args);
  }

  /** Wraps an argument-less function so its result is cached under `opts.key`. */
  cached<R>(fn: () => R, opts: CachedOptions<Awaited<R>>): CachedFunction<R> {
    return cached(this, fn, opts);
  }

  /**
   * The current version of a tag, created if absent (memoize keeps each function's version as
   * one); undefined when the backend failed. Reading it emits no event unless it fails.
   */
  async tagVersion(tag: string, opts: GetOptions = {}): Promise<string | undefined> {
    const start = now();
    const read = await this.telemetry.attempt(() => this.tagStore.current([tag]));
    if (!read.ok) return this.telemetry.fail('get', tag, opts, start, read.error);
    return read.value[tag];
  }

  /** Counters per origin and per backend, corrupt entries, health, and the backend's own figures. */
  async stats(): Promise<CacheStats> {
    // A backend that reports nothing is not asked: the answer would say nothing of its health.
    if (this.backend.stats === undefined) return this.telemetry.snapshot({});
    const read = await this.telemetry.attempt(() => this.store.stats());
    return this.telemetry.snapshot(read.ok ? read.value : {});
  }

  /** `degraded` while the backend is failing. */
  health(): CacheHealth {
    return this.pending.empty ? this.telemetry.health() : 'degraded';
  }

  /**
   * Whether reads must miss because an invalidation failed and has not reached the backend yet
   * (the entries it should have removed may still be there); if so, a replay is started.
   */
  private hasPendingInvalidations(): boolean {
    if (this.pending.empty) return false;
    void this.pending.replay(async ({ clear, tags, keys }) => {
      const done = await this.telemetry.attempt(async () => {
        if (clear) await this.store.clear();
        if (tags.length > 0) await this.tagStore.invalidate(tags);
        if (keys.length > 0) await this.store.deleteMany(keys);
      });
      return done.ok;
    });
    return true;
  }

  /** Releases the backend's connections and handles. */
  async close(): Promise<void> {
    await this.store.close();
  }

  /** The timeout to store, in seconds: the default when omitted, jittered when configured. */
  ttl(timeout: Seconds | undefined): Seconds {
    const t = checkTimeout(timeout ?? this.defaultTimeout, 'timeout');
    if (t === 0 || this.jitter === 0) return t;
    return Math.max(1, Math.round(t * 1000 * (1 - this.jitter * this.random()))) / 1000;
  }

  private async fill<T>(key: string, compute: () => T | Promise<T>, opts: GetOrSetOptions<T>, forced: boolean): Promise<T> {
    if (forced) return this.computeAndStore(key, compute, opts);
    const entry = await this.reader.lookup('get', key, opts);
    if (entry) return entry.value as T;
    const { locks, changes } = this.store;
    if (!locks) return this.computeAndStore(key, compute, opts);
    return distributedFlight<T>({
      acquire: () => locks.lock(lockKey(key), this.lockTtlMs),
      recheck: async () => {
        const stored = await this.reader.lookup('get', key, opts);
        return stored && { value: stored.value as T };
      },
      compute: () => this.computeAndStore(key, compute, opts),
      ttlMs: this.lockTtlMs,
      sleep: changes && ((ms: number) => changes.waitForChange(key, ms)),
    });
  }

  private async computeAndStore<T>(key: string, compute: () => T | Promise<T>, opts: GetOrSetOptions<T>): Promise<T> {
    const start = now();
    // Tag versions are read before computing, so an invalidation during the computation wins.
    const tags = await this.tagsFor(opts, start, [key], 'set');
    const value = await compute();
    if (tags === false || (opts.shouldCache && !opts.shouldCache(value))) return value;
    if (value === null || value === undefined) {
      const nothing = value === null ? null : undefined;
      if (opts.negativeTimeout !== undefined) {
        await this.write('set', key, (t) => encodeNotFound(nothing, t), this.ttl(opts.negativeTimeout), opts, tags);
      } else if (value === null && (opts.cacheNull ?? true)) {
        await this.write('set', key, (t) => encodeValue(null, t), this.ttl(opts.timeout), opts, tags);
      }
      return value;
    }
    await this.write('set', key, (t) => encodeValue(value, t), this.ttl(opts.timeout), opts, tags);
    return value;
  }

  private async write(
    op: 'set' | 'add',
    key: string,
    encode: (tags: TagVersions | undefined) => string,
    ttl: Seconds,
    opts: SetOptions,
    snapshot?: TagVersions | false,
  ): Promise<boolean> {
    const start = now();
    const tags = snapshot === undefined ? await this.tagsFor(opts, start, [key], op) : snapshot;
    if (tags === false) return false;
    const raw = encode(tags);
    // It would be read as corrupt: not storing it saves writing and deleting it on every request.
    if (raw.length > MAX_ENTRY_LENGTH) {
      this.telemetry.emit(op, key, 'error', opts, start, raw.length, 'entry too large to cache');
      return false;
    }
    const stored = await this.telemetry.attempt(() =>
      op === 'set' ? this.store.set(key, raw, ttl).then(() => true) : this.store.add(key, raw, ttl),
    );
    if (!stored.ok) return this.telemetry.fail(op, key, opts, start, stored.error) ?? false;
    this.telemetry.emit(op, key, stored.value ? 'set' : 'hit', opts, start, Buffer.byteLength(raw));
    return stored.value;
  }

  /** The current versions of `opts.tags` (undefined without tags), or false when they could not be read. */
  private async tagsFor(opts: SetOptions, start: number, keys: readonly string[], op: CacheOp): Promise<TagVersions | undefined | false> {
    if (!opts.tags || opts.tags.length === 0) return undefined;
    const tags = opts.tags;
    const read = await this.telemetry.attempt(() => this.tagStore.current(tags));
    if (read.ok) return read.value;
    for (const key of keys) this.telemetry.fail(op, key, opts, start, read.error);
    return false;
  }
}

function checkTimeout(timeout: Seconds, name: string): Seconds {
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new TypeError(`${name} must be a non-negative number of seconds (0 = no expiry), got ${String(timeout)}`);
  }
  return timeout;
}
