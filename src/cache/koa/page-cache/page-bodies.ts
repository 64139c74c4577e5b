import type { Cache } from '../../cache.ts';

/** Bounds of {@link PageBodies}. */
export interface PageBodiesOptions {
  /** Most bodies kept (default 768: a page keeps up to three, its identity body and two compressed forms). */
  maxEntries?: number;
  /** Most bytes kept (default 8 MiB). */
  maxBytes?: number;
}

const shared = new WeakMap<Cache, PageBodies>();

/**
 * Recently served page bodies by ETag, least recently stored first out. Safe to keep: a body's
 * ETag is its hash, so an ETag always names the same bytes; whether a page may be served is
 * decided by reading its record, never from this memory.
 */
export class PageBodies {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly bodies = new Map<string, Buffer>();
  private bytes = 0;

  constructor(options: PageBodiesOptions = {}) {
    this.maxEntries = options.maxEntries ?? 768;
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  }

  /** The bodies kept for one cache, shared by every `cacheView` on it so the bound holds per process. */
  static of(cache: Cache): PageBodies {
    let bodies = shared.get(cache);
    if (!bodies) {
      bodies = new PageBodies();
      shared.set(cache, bodies);
    }
    return bodies;
  }

  /** The body with this ETag, if kept. */
  get(etag: string): Buffer | undefined {
    return this.bodies.get(etag);
  }

  /** Keeps a body, evicting the oldest beyond the bounds; a body larger than the byte bound is not kept. */
  remember(etag: string, body: Buffer): void {
    if (this.bodies.has(etag) || body.length > this.maxBytes) return;
    this.bodies.set(etag, body);
    this.bytes += body.length;
    while (this.bodies.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.bodies.entries().next();
      if (oldest.done) break;
      this.bodies.delete(oldest.value[0]);
      this.bytes -= oldest.value[1].length;
    }
  }
}
