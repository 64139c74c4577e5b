import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import type { CoherenceLink, LinkHandlers } from '../../src/cache/distributed/coherence/wire.ts';
import type { CacheBackend, Clock, Seconds } from '../../src/cache/types.ts';

/**
 * A remote backend for near-cache tests: memory underneath, with the remaining-TTL read the
 * near layer uses, a counter of every remote call, and a gate that holds reads in flight.
 */
export class CountingRemote implements CacheBackend {
  readonly name = 'remote';
  /** Remote calls by method name. */
  readonly calls: Record<string, number> = {};
  /** Makes every call reject while set. */
  failing = false;
  private readonly inner: MemoryBackend;
  private gate: Promise<void> | undefined;

  constructor(private readonly clock: Clock) {
    this.inner = new MemoryBackend({ clock, threshold: 100_000 });
  }

  /** Total remote reads so far (get, getMany, getManyWithTtl, has). */
  get reads(): number {
    return (this.calls.get ?? 0) + (this.calls.getMany ?? 0) + (this.calls.getManyWithTtl ?? 0) + (this.calls.has ?? 0);
  }

  /** Holds every read until the returned function is called (reads take their value first). */
  hold(): () => void {
    let open = (): void => {};
    this.gate = new Promise<void>((resolve) => (open = resolve));
    return () => {
      this.gate = undefined;
      open();
    };
  }

  private async count<T>(method: string, run: () => Promise<T>): Promise<T> {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.failing) throw new Error('remote down');
    return run();
  }

  get(key: string): Promise<string | undefined> {
    return this.count('get', () => this.inner.get(key));
  }
  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.count('getMany', () => this.inner.getMany(keys));
  }
  /** Values with their remaining seconds (0 = no expiry), read now and delivered once the gate opens. */
  getManyWithTtl(keys: readonly string[]): Promise<({ value: string; ttl: Seconds } | undefined)[]> {
    return this.count('getManyWithTtl', async () => {
      const now = this.clock.now();
      const read = keys.map((key) => {
        const entry = this.inner.store.read(key, this.clock, false);
        return entry && { value: entry.value, ttl: entry.expiresAt === 0 ? 0 : (entry.expiresAt - now) / 1000 };
      });
      await this.gate;
      return read;
    });
  }
  set(key: string, value: string, ttl: Seconds): Promise<void> {
    return this.count('set', () => this.inner.set(key, value, ttl));
  }
  setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    return this.count('setMany', () => this.inner.setMany(entries, ttl));
  }
  add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    return this.count('add', () => this.inner.add(key, value, ttl));
  }
  delete(key: string): Promise<boolean> {
    return this.count('delete', () => this.inner.delete(key));
  }
  deleteMany(keys: readonly string[]): Promise<number> {
    return this.count('deleteMany', () => this.inner.deleteMany(keys));
  }
  has(key: string): Promise<boolean> {
    return this.count('has', () => this.inner.has(key));
  }
  clear(): Promise<void> {
    return this.count('clear', () => this.inner.clear());
  }
  incr(key: string, delta: number): Promise<number> {
    return this.count('incr', () => this.inner.incr(key, delta));
  }
}

/** An in-memory publish/subscribe bus with controllable faults, standing in for Redis pub/sub. */
export class MemoryBus {
  private readonly counters = new Map<string, number>();
  private readonly links = new Set<BusLink>();

  /** A new connection to the bus (one per simulated process). */
  link(): BusLink {
    const link = new BusLink(this);
    this.links.add(link);
    return link;
  }

  /** Delivers asynchronously to every subscribed link; resolves how many it counted. */
  deliver(channel: string, text: string): number {
    let reached = 0;
    for (const link of this.links) {
      if (!link.accepts(channel)) continue;
      link.receive(channel, text);
      reached += 1;
    }
    return reached;
  }

  /** Atomically adds one to a counter. */
  incr(key: string): number {
    const next = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, next);
    return next;
  }

  /** A counter's value, 0 when absent. */
  read(key: string): number {
    return this.counters.get(key) ?? 0;
  }

  /** Forgets a counter, as `clear()` removes it from Redis. */
  reset(key: string): void {
    this.counters.delete(key);
  }

  /** Detaches a link. */
  remove(link: BusLink): void {
    this.links.delete(link);
  }
}

/** One connection to a {@link MemoryBus}, with switches for the faults coherence must survive. */
export class BusLink implements CoherenceLink {
  /** Deliveries to drop silently (counted by the publisher, never seen here). */
  lose = 0;
  /** When set, this link's own publishes (its confirmations) never arrive anywhere. */
  mute = false;
  private handlers: LinkHandlers | undefined;
  private channels = new Set<string>();
  private connected = false;

  constructor(private readonly bus: MemoryBus) {}

  accepts(channel: string): boolean {
    return this.connected && this.channels.has(channel);
  }

  /** Schedules a delivery, or loses it (the bus counted it all the same). */
  receive(channel: string, text: string): void {
    if (this.lose > 0) {
      this.lose -= 1;
      return;
    }
    setImmediate(() => {
      if (this.connected) this.handlers?.message(channel, text);
    });
  }

  async publish(channel: string, text: string): Promise<number> {
    if (this.mute) return 0;
    return this.bus.deliver(channel, text);
  }
  async incr(key: string): Promise<number> {
    return this.bus.incr(key);
  }
  async read(key: string): Promise<number> {
    return this.bus.read(key);
  }
  listen(channels: readonly string[], handlers: LinkHandlers): void {
    this.channels = new Set(channels);
    this.handlers = handlers;
    this.up();
  }
  /** (Re)establishes the subscription. */
  up(): void {
    this.connected = true;
    this.handlers?.up();
  }
  /** Loses the subscription. */
  down(): void {
    this.connected = false;
    this.handlers?.down('test: connection lost');
  }
  async close(): Promise<void> {
    this.connected = false;
    this.bus.remove(this);
  }
}
