import { BoundedMap } from './bounded-map.ts';
import { decodeEntry, type DecodedEntry } from './codec.ts';
import { CACHE_DEFAULTS } from './defaults.ts';
import { earliest, isExpired } from './expiry.ts';
import type { TagStore } from './tags.ts';
import { messageOf, now, type Telemetry } from './telemetry.ts';
import type { SyncReads } from './backends/capabilities.ts';
import type { NormalizedBackend } from './backends/normalize.ts';
import type { CacheOp, Clock, GetOptions } from './types.ts';

/** Longest stored string whose peek is kept, and how many keys are kept. */
const PEEK_KEEP_MAX_LENGTH = CACHE_DEFAULTS.peek.keepMaxLength;
const PEEK_KEEP_MAX_ENTRIES = CACHE_DEFAULTS.peek.keepMaxEntries;

/** What a peek at one key found, kept to answer the next peeks while the backend is unchanged. */
interface KeptPeek {
  /** The stored string (undefined: absent), and its size in bytes. */
  raw: string | undefined;
  bytes: number | undefined;
  /** What it decodes to. */
  decoded: DecodedEntry | undefined;
  /** The live entry: `decoded`, unless its tags were invalidated (a miss). */
  entry: DecodedEntry | undefined;
  /** When the answer runs out: the earliest expiry of the entry and its tag versions (0 = never). */
  until: number;
  /** The backend's content version it was read under (undefined: not to be trusted again). */
  version: number | string | undefined;
}

/** Whether a decoded value is plain JSON data (no Buffer, Date or bigint revived from a tag). */
function isPlainData(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'bigint';
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every(isPlainData);
}

/** The decoded entry of a small stored string of plain data, frozen in depth to be shared; others as they are. */
function deepFreezeIfPlain(entry: DecodedEntry, raw: string): DecodedEntry {
  return raw.length <= PEEK_KEEP_MAX_LENGTH && isPlainData(entry) ? deepFreeze(entry) : entry;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * The cache's read path: fetch raw strings, decode them, delete the corrupt ones, check tag
 * versions, and report a hit, miss or error per key. A failure anywhere is a miss.
 */
export class EntryReader {
  /** Recent peeks by key, the first kept going first (plain values frozen, as every later peek shares them). */
  private readonly peeked = new BoundedMap<string, KeptPeek>({ maxEntries: PEEK_KEEP_MAX_ENTRIES });

  constructor(
    private readonly backend: NormalizedBackend,
    private readonly telemetry: Telemetry,
    private readonly tagStore: TagStore,
    /** The cache's clock, which its backend shares, for the expiry of kept peeks. */
    private readonly clock: Clock,
    /** True while failed invalidations are pending (see pending.ts): every answered read is then a miss. */
    private readonly missWhilePending: () => boolean = () => false,
  ) {}

  /** The live entry under `key` (a value or a not-found marker), or undefined. */
  async lookup(op: CacheOp, key: string, opts: GetOptions): Promise<DecodedEntry | undefined> {
    const start = now();
    const read = await this.telemetry.attempt(() => this.backend.get(key));
    if (!read.ok) return this.telemetry.fail(op, key, opts, start, read.error);
    if (this.missWhilePending()) return void this.telemetry.emit(op, key, 'miss', opts, start);
    const [entry] = await this.decode(op, [key], [read.value], opts, start);
    return entry;
  }

  /**
   * The lookup of `key` decided without waiting, when the backend can peek at the entry and its
   * tag versions (see `SyncReads.peekMany`): `{ entry }` (undefined for a miss), reported
   * like `lookup`; or undefined when it cannot tell, and nothing is reported. Anything unusual
   * (a backend error, a corrupt entry) is left to `lookup`, which reports and repairs it.
   *
   * While the backend's content version is the one a key was last peeked under, nothing it read
   * changed: the same answer is given again until the earliest expiry among what it read, with
   * no read at all. A hot key thus costs one version check (an early page answer's "one lookup").
   */
  peek(op: CacheOp, key: string, opts: GetOptions): { entry: DecodedEntry | undefined } | undefined {
    const sync = this.backend.syncReads;
    if (sync === undefined) return undefined;
    const start = now();
    let found: KeptPeek | undefined;
    try {
      const version = sync.contentVersion();
      const kept = this.peeked.get(key);
      if (kept !== undefined && version !== undefined && kept.version === version && !isExpired(this.clock, kept.until)) {
        found = kept;
      } else {
        found = this.peekAndKeep(sync, key, version, kept);
        if (found === undefined) return undefined;
      }
    } catch {
      return undefined;
    }
    if (found.entry === undefined || this.missWhilePending()) {
      this.telemetry.emit(op, key, 'miss', opts, start, found.bytes);
      return { entry: undefined };
    }
    this.telemetry.emit(op, key, 'hit', opts, start, found.bytes);
    return { entry: found.entry };
  }

  /** Reads `key` and its tag versions through `peekMany` and keeps what it found; undefined when the backend cannot tell. */
  private peekAndKeep(sync: SyncReads, key: string, version: number | string | undefined, kept: KeptPeek | undefined): KeptPeek | undefined {
    const read = sync.peekMany([key]);
    if (read === undefined) return undefined;
    const stored = read[0];
    let found: KeptPeek;
    if (stored === undefined) {
      found = { raw: undefined, bytes: undefined, decoded: undefined, entry: undefined, until: 0, version };
    } else {
      // The same string as last time decodes to the same (frozen) entry.
      const decoded = kept?.raw === stored.value ? kept.decoded : deepFreezeIfPlain(decodeEntry(stored.value), stored.value);
      found = { raw: stored.value, bytes: Buffer.byteLength(stored.value), decoded, entry: decoded, until: stored.expiresAt, version };
      if (decoded?.tags) {
        const tags = this.tagStore.peekFresh(decoded.tags);
        if (tags === undefined) return undefined;
        found.until = earliest(found.until, tags.until);
        if (!tags.fresh) found.entry = undefined;
      }
    }
    this.keepPeek(key, found);
    return found;
  }

  /** Keeps a peek whose entry is frozen (or absent); others are read again next time. */
  private keepPeek(key: string, found: KeptPeek): void {
    this.peeked.delete(key);
    if (found.decoded !== undefined && !Object.isFrozen(found.decoded)) return;
    this.peeked.set(key, found);
  }

  /** The live entries under many keys, in order, in one backend round trip (plus one for tags). */
  async lookupMany(op: CacheOp, keys: readonly string[], opts: GetOptions): Promise<(DecodedEntry | undefined)[]> {
    const start = now();
    const read = await this.telemetry.attempt(() => this.backend.getMany(keys));
    if (!read.ok) {
      for (const key of keys) this.telemetry.fail(op, key, opts, start, read.error);
      return keys.map(() => undefined);
    }
    if (this.missWhilePending()) {
      for (const key of keys) this.telemetry.emit(op, key, 'miss', opts, start);
      return keys.map(() => undefined);
    }
    return this.decode(op, keys, read.value, opts, start);
  }

  private async decode(
    op: CacheOp,
    keys: readonly string[],
    raws: ReadonlyArray<string | undefined>,
    opts: GetOptions,
    start: number,
  ): Promise<(DecodedEntry | undefined)[]> {
    const entries: (DecodedEntry | undefined)[] = [];
    const corrupt = new Set<number>();
    raws.forEach((raw, i) => {
      if (raw === undefined) return void entries.push(undefined);
      try {
        entries.push(decodeEntry(raw));
      } catch (error) {
        // A corrupt entry is a miss: counted, reported and deleted, never thrown at the caller.
        corrupt.add(i);
        entries.push(undefined);
        this.telemetry.recordCorrupt();
        this.telemetry.emit(op, keys[i], 'error', opts, start, raw.length, `corrupt entry deleted: ${messageOf(error)}`);
      }
    });
    if (corrupt.size > 0) {
      const doomed = Array.from(corrupt, (i) => keys[i]);
      const removed = await this.telemetry.attempt(() => this.backend.deleteMany(doomed));
      if (!removed.ok) this.telemetry.fail('delete', doomed[0], opts, start, removed.error);
    }
    let fresh = entries.map(() => true);
    if (entries.some((entry) => entry?.tags)) {
      const checked = await this.telemetry.attempt(() => this.tagStore.fresh(entries.map((entry) => entry?.tags)));
      if (!checked.ok) this.telemetry.fail(op, keys[0], opts, start, checked.error);
      // Tag versions that cannot be read make every tagged entry a miss: never serve stale.
      fresh = checked.ok ? checked.value : entries.map((entry) => !entry?.tags);
    }
    return entries.map((entry, i) => {
      if (corrupt.has(i)) return undefined;
      const raw = raws[i];
      const bytes = raw === undefined ? undefined : Buffer.byteLength(raw);
      if (entry === undefined || !fresh[i]) {
        this.telemetry.emit(op, keys[i], 'miss', opts, start, bytes);
        return undefined;
      }
      this.telemetry.emit(op, keys[i], 'hit', opts, start, bytes);
      return entry;
    });
  }
}
