/** Options of a {@link BoundedMap}. */
export interface BoundedMapOptions<V> {
  /** Most entries kept; beyond it the oldest go first. */
  maxEntries: number;
  /** Most bytes kept, as `sizeOf` counts them (default no byte bound). A value larger than this is not kept. */
  maxBytes?: number;
  /** The size of a value in bytes (default 0: only `maxEntries` bounds the map). */
  sizeOf?: (value: V) => number;
  /**
   * Whether `get` makes an entry the youngest (least recently used goes first); without it the
   * first inserted goes first, and a read costs one Map lookup.
   */
  touchOnGet?: boolean;
}

/**
 * A Map bounded by entries and optionally bytes; the least recently used (or inserted) goes
 * first. It relies on a Map's insertion order: the first key is the oldest, and touching an
 * entry re-inserts it at the young end.
 *
 * @example
 * const bodies = new BoundedMap<string, Buffer>({ maxEntries: 256, maxBytes: 8 * 1024 * 1024, sizeOf: (b) => b.length });
 */
export class BoundedMap<K, V> {
  /** The values, oldest first: a read of an untouched map is one Map lookup. */
  private readonly map = new Map<K, V>();
  /** Each value's size, kept only when there is a `sizeOf`. */
  private readonly sizes: Map<K, number> | undefined;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly sizeOf: ((value: V) => number) | undefined;
  private readonly touchOnGet: boolean;
  private held = 0;

  constructor(options: BoundedMapOptions<V>) {
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.sizeOf = options.sizeOf;
    this.touchOnGet = options.touchOnGet ?? false;
    this.sizes = this.sizeOf === undefined ? undefined : new Map();
    if (!Number.isSafeInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new RangeError(`BoundedMap: maxEntries must be a positive integer, got ${this.maxEntries}`);
    }
    if (!(this.maxBytes > 0)) throw new RangeError(`BoundedMap: maxBytes must be positive, got ${this.maxBytes}`);
  }

  /** How many entries it holds. */
  get size(): number {
    return this.map.size;
  }

  /** How many bytes its values hold, as `sizeOf` counts them. */
  get bytes(): number {
    return this.held;
  }

  /** The value under `key`; with `touchOnGet`, the entry becomes the youngest. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (this.touchOnGet && value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** The value under `key`, leaving the order alone. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Whether `key` is held. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  /**
   * Stores `value` as the youngest entry, first removing the oldest ones it would not fit
   * beside; resolves false (and holds nothing under `key`) when the value alone exceeds `maxBytes`.
   */
  set(key: K, value: V): boolean {
    this.delete(key);
    const size = this.sizeOf?.(value) ?? 0;
    if (size > this.maxBytes) return false;
    while (this.map.size > 0 && (this.map.size >= this.maxEntries || this.held + size > this.maxBytes)) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.map.set(key, value);
    if (this.sizes !== undefined) {
      this.sizes.set(key, size);
      this.held += size;
    }
    return true;
  }

  /** Removes `key`; whether it was held. */
  delete(key: K): boolean {
    if (!this.map.delete(key)) return false;
    if (this.sizes !== undefined) {
      this.held -= this.sizes.get(key) ?? 0;
      this.sizes.delete(key);
    }
    return true;
  }

  /** Removes everything. */
  clear(): void {
    this.map.clear();
    this.sizes?.clear();
    this.held = 0;
  }

  /** The values, oldest first. */
  values(): IterableIterator<V> {
    return this.map.values();
  }
}
