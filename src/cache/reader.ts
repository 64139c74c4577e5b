import { deleteManyVia, getManyVia } from './backends/base.ts';
import { decodeEntry, type DecodedEntry } from './codec.ts';
import type { TagStore } from './tags.ts';
import { messageOf, now, type Telemetry } from './telemetry.ts';
import type { CacheBackend, CacheOp, GetOptions } from './types.ts';

/**
 * The cache's read path: fetch raw strings, decode them, delete the corrupt ones, check tag
 * versions, and report a hit, miss or error per key. A failure anywhere is a miss.
 */
/** Longest stored string whose decoded peek is kept, and how many are kept. */
const PEEK_KEEP_MAX_LENGTH = 4096;
const PEEK_KEEP_MAX_ENTRIES = 1024;

/** Whether a decoded value is plain JSON data (no Buffer, Date or bigint revived from a tag). */
function isPlainData(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return typeof value !== 'bigint';
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every(isPlainData);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export class EntryReader {
  /** Entries decoded by recent peeks, by key, reused while the stored string is the same; values frozen. */
  private readonly peeked = new Map<string, { raw: string; entry: DecodedEntry }>();

  constructor(
    private readonly backend: CacheBackend,
    private readonly telemetry: Telemetry,
    private readonly tagStore: TagStore,
    /** True while failed invalidations are pending (see pending.ts): every answered read is then a miss. */
    private readonly unsettled: () => boolean = () => false,
  ) {}

  /** The live entry under `key` (a value or a not-found marker), or undefined. */
  async lookup(op: CacheOp, key: string, opts: GetOptions): Promise<DecodedEntry | undefined> {
    const start = now();
    const read = await this.telemetry.attempt(() => this.backend.get(key));
    if (!read.ok) return this.telemetry.fail(op, key, opts, start, read.error);
    if (this.unsettled()) return void this.telemetry.emit(op, key, 'miss', opts, start);
    const [entry] = await this.decode(op, [key], [read.value], opts, start);
    return entry;
  }

  /**
   * The lookup of `key` decided without waiting, when the backend can peek at the entry and its
   * tag versions (see `CacheBackend.peekMany`): `{ entry }` (undefined for a miss), reported
   * like `lookup`; or undefined when it cannot tell, and nothing is reported. Anything unusual
   * (a backend error, a corrupt entry) is left to `lookup`, which reports and repairs it.
   */
  peek(op: CacheOp, key: string, opts: GetOptions): { entry: DecodedEntry | undefined } | undefined {
    if (!this.backend.peekMany) return undefined;
    const start = now();
    let entry: DecodedEntry | undefined;
    let raw: string | undefined;
    let fresh: boolean | undefined = true;
    try {
      const read = this.backend.peekMany([key]);
      if (read === undefined) return undefined;
      raw = read[0];
      entry = raw === undefined || this.unsettled() ? undefined : this.decodePeeked(key, raw);
      if (entry?.tags) fresh = this.tagStore.peekFresh(entry.tags);
    } catch {
      return undefined;
    }
    if (fresh === undefined) return undefined;
    const bytes = raw === undefined ? undefined : Buffer.byteLength(raw);
    if (entry === undefined || !fresh) {
      this.telemetry.emit(op, key, 'miss', opts, start, bytes);
      return { entry: undefined };
    }
    this.telemetry.emit(op, key, 'hit', opts, start, bytes);
    return { entry };
  }

  /**
   * A hot key is peeked at again and again while it holds the same string: its decoded entry is
   * kept (small JSON-only entries, frozen since every peek shares it) instead of parsed each time.
   */
  private decodePeeked(key: string, raw: string): DecodedEntry {
    const kept = this.peeked.get(key);
    if (kept !== undefined && kept.raw === raw) return kept.entry;
    const entry = decodeEntry(raw);
    this.peeked.delete(key);
    if (raw.length <= PEEK_KEEP_MAX_LENGTH && isPlainData(entry)) {
      if (this.peeked.size >= PEEK_KEEP_MAX_ENTRIES) this.peeked.delete(this.peeked.keys().next().value as string);
      this.peeked.set(key, { raw, entry: deepFreeze(entry) });
    }
    return entry;
  }

  /** The live entries under many keys, in order, in one backend round trip (plus one for tags). */
  async lookupMany(op: CacheOp, keys: readonly string[], opts: GetOptions): Promise<(DecodedEntry | undefined)[]> {
    const start = now();
    const read = await this.telemetry.attempt(() =>
      this.backend.getMany ? this.backend.getMany(keys) : getManyVia(this.backend, keys),
    );
    if (!read.ok) {
      for (const key of keys) this.telemetry.fail(op, key, opts, start, read.error);
      return keys.map(() => undefined);
    }
    if (this.unsettled()) {
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
      const removed = await this.telemetry.attempt(() =>
        this.backend.deleteMany ? this.backend.deleteMany(doomed) : deleteManyVia(this.backend, doomed),
      );
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
