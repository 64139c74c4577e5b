import { randomBytes } from 'node:crypto';
import { CACHE_DEFAULTS } from '../../defaults.ts';
import { COHERENCE_SEQUENCE_KEY, coherenceChannels, type CoherenceChannels } from '../../keys.ts';
import type { CacheLogger } from '../../telemetry.ts';
import { HeardSequence } from './sequence.ts';
import { encodeAnnouncement, parseAnnouncement, type CoherenceLink, type Invalidation } from './wire.ts';

/**
 * Near-cache coherence across processes, over a publish/subscribe bus (Redis pub/sub).
 *
 * Every change a process makes to the shared store (set, delete, tag invalidation, clear,
 * deleteMemoized) is announced with the keys it touched; every other process drops those keys
 * from its near cache and confirms. An invalidation resolves only once every subscriber the bus
 * reached has confirmed (or `ackTimeoutMs` passed), so when an author's save is acknowledged, no
 * process can serve the old version from memory on its next request. A plain overwrite (a page
 * just rendered) is announced in the background, so a render never waits on the bus or on busy
 * peers.
 *
 * Safe fallback: whenever messages may have been missed, the whole near cache is dropped and
 * stays off until the subscription is back:
 * - the subscription connection errors, closes or reconnects (`down`, then `up`);
 * - a gap in the announcements' sequence numbers (a shared counter incremented for each one)
 *   still open one poll after it was seen, or the counter going backwards (`clear()` removed it);
 * - this process's own announcement not coming back to it within the ack timeout.
 * Staleness in cases no signal covers (a silently dead connection) is bounded by the near
 * cache's own timeout cap (see distributed/near-cache.ts).
 */

/** Options of {@link Coherence}. */
export interface CoherenceOptions {
  /** The bus. */
  link: CoherenceLink;
  /** Processes with the same scope (the cache's key prefix) share invalidations. */
  scope: string;
  /** Longest wait for the other processes to confirm an invalidation, in ms (default 250). */
  ackTimeoutMs?: number;
  /** Interval of the sequence check in ms (default 1000; 0 = none). */
  pollMs?: number;
  /** Where state changes are logged (default the console). */
  logger?: CacheLogger;
  /** Runs a callback after a delay and returns a cancel function (default a timer); tests pass one they control. */
  schedule?: Schedule;
}

/** Runs `run` after `ms` milliseconds; the function it returns cancels it. */
export type Schedule = (run: () => void, ms: number) => () => void;

const timerSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

/** Counters of a {@link Coherence}, for tests and metrics. */
export interface CoherenceStats {
  /** Invalidations announced by this process. */
  published: number;
  /** Invalidations received from other processes. */
  received: number;
  /** Times the whole near cache was dropped (down, gap, counter reset, missing echo). */
  drops: number;
  /** Confirmations that did not arrive within the ack timeout. */
  missedAcks: number;
  /** Overwrite announcements that could not be sent. */
  unsent: number;
}

interface AckWait {
  need: number;
  got: number;
  echoed: boolean;
  done(): void;
}

/**
 * One process's end of the coherence bus: announces invalidations and waits for confirmations,
 * applies the others' through the handler given to {@link Coherence.onInvalidate}, and says
 * whether the near cache may be used ({@link Coherence.live}).
 *
 * @example
 * const coherence = new Coherence({ link: redis.coherenceLink(), scope: 'kiln:' });
 * const backend = new NearCacheBackend({ remote, coherence, maxBytes: 16 * 1024 * 1024 });
 */
export class Coherence {
  /** This process's identity on the bus (random). */
  readonly id = randomBytes(8).toString('hex');
  /** Counters since start. */
  readonly stats: CoherenceStats = { published: 0, received: 0, drops: 0, missedAcks: 0, unsent: 0 };
  private readonly link: CoherenceLink;
  private readonly channels: CoherenceChannels;
  private readonly ackTimeoutMs: number;
  private readonly schedule: Schedule;
  private readonly logger: CacheLogger;
  private handler: (what: Invalidation) => void = () => {};
  private readonly waits = new Map<number, AckWait>();
  private readyWaiters: (() => void)[] = [];
  private subscribed = false;
  private isLive = false;
  private closed = false;
  /** The last invalidation went unconfirmed by some process (logged once until one is confirmed by all). */
  private lastInvalidationUnconfirmed = false;
  private unsent = false;
  private lostLogged = false;
  private readonly background = new Set<Promise<void>>();
  private generation = 0;
  private messages = 0;
  private readonly sequence = new HeardSequence();
  private polling = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(options: CoherenceOptions) {
    this.link = options.link;
    this.channels = coherenceChannels(options.scope, this.id);
    this.ackTimeoutMs = options.ackTimeoutMs ?? CACHE_DEFAULTS.coherence.ackTimeoutMs;
    this.schedule = options.schedule ?? timerSchedule;
    this.logger = options.logger ?? console;
    const pollMs = options.pollMs ?? CACHE_DEFAULTS.coherence.pollMs;
    if (pollMs > 0) {
      this.timer = setInterval(() => void this.checkSequence(), pollMs);
      this.timer.unref();
    }
    this.link.listen([this.channels.bus, this.channels.mine], {
      message: (channel, text) => this.receive(channel, text),
      up: () => {
        this.subscribed = true;
        void this.establish();
      },
      down: (reason) => this.lost(reason),
    });
  }

  /** Whether the near cache may serve: subscribed, with a known starting point, and not closed. */
  get live(): boolean {
    return this.isLive;
  }

  /** Sets what happens to the near cache when something is invalidated (one handler). */
  onInvalidate(handler: (what: Invalidation) => void): void {
    this.handler = handler;
  }

  /** Resolves once the near cache may serve (immediately when it already may). */
  ready(): Promise<void> {
    if (this.isLive) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /**
   * Announces an invalidation to every process and resolves once each subscriber the bus reached
   * has confirmed it, or after the ack timeout (logged once per state change). Rejects when it
   * could not be sent.
   */
  async publishInvalidation(what: Invalidation): Promise<void> {
    if (this.closed) return;
    const m = ++this.messages;
    let wake = (): void => {};
    const confirmed = new Promise<void>((resolve) => (wake = resolve));
    const wait: AckWait = { need: Number.POSITIVE_INFINITY, got: 0, echoed: false, done: () => wake() };
    this.waits.set(m, wait);
    try {
      wait.need = await this.send(what, m);
      if (wait.got >= wait.need) wait.done();
      let cancel = (): void => {};
      await Promise.race([confirmed, new Promise<void>((resolve) => (cancel = this.schedule(resolve, this.ackTimeoutMs)))]);
      cancel();
    } finally {
      this.waits.delete(m);
    }
    this.settle(wait);
  }

  /**
   * Announces a plain overwrite without waiting for it to be sent, let alone confirmed. A failure
   * is counted and logged once; the sequence check then makes the other processes drop everything.
   */
  announceOverwrite(what: Invalidation): void {
    if (this.closed) return;
    const sending: Promise<void> = this.send(what, ++this.messages)
      .then(
        () => {
          if (this.unsent) this.logger.info('cache coherence: announcements are sent again');
          this.unsent = false;
        },
        (error: unknown) => {
          this.stats.unsent += 1;
          const reason = error instanceof Error ? error.message : String(error);
          if (!this.unsent) this.logger.warn(`cache coherence: an announcement could not be sent (${reason})`);
          this.unsent = true;
        },
      )
      .finally(() => this.background.delete(sending));
    this.background.add(sending);
  }

  /** Resolves once every announcement started by {@link Coherence.announceOverwrite} was sent or failed. */
  async flush(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled(Array.from(this.background));
  }

  /** Numbers and sends one announcement; resolves how many subscribers it reached. */
  private async send(what: Invalidation, m: number): Promise<number> {
    const sequence = await this.link.incr(COHERENCE_SEQUENCE_KEY);
    this.stats.published += 1;
    return this.link.publish(this.channels.bus, encodeAnnouncement({ origin: this.id, messageNumber: m, sequence, keys: what }));
  }

  /** Sends what is still being announced, then stops listening; the near cache is off from now on. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.isLive = false;
    clearInterval(this.timer);
    for (const wait of this.waits.values()) wait.done();
    await this.link.close();
  }

  /** Records how an announcement's confirmations went. */
  private settle(wait: AckWait): void {
    const missing = Math.max(0, wait.need - wait.got);
    if (missing === 0) {
      if (this.lastInvalidationUnconfirmed) this.logger.info('cache coherence: every process confirms invalidations again');
      this.lastInvalidationUnconfirmed = false;
      return;
    }
    this.stats.missedAcks += missing;
    if (!this.lastInvalidationUnconfirmed) {
      const late = `${missing} of ${wait.need} subscribers did not confirm an invalidation within ${this.ackTimeoutMs} ms`;
      this.logger.warn(`cache coherence: ${late}`);
    }
    this.lastInvalidationUnconfirmed = true;
    // Our own subscription did not hear our announcement: it may be deaf, so trust nothing kept.
    if (!wait.echoed && this.subscribed) this.dropAll();
  }

  private receive(channel: string, text: string): void {
    if (channel === this.channels.mine) return this.confirmation(text);
    if (channel !== this.channels.bus) return;
    const message = parseAnnouncement(text);
    if (!message) {
      // Something we cannot read was said on our channel: assume the worst.
      this.dropAll();
      return;
    }
    this.sequence.heard(message.sequence);
    if (message.origin === this.id) {
      const wait = this.waits.get(message.messageNumber);
      if (wait) {
        wait.echoed = true;
        this.confirmation(String(message.messageNumber));
      }
      return;
    }
    this.stats.received += 1;
    this.handler(message.keys);
    // Confirmed only after the near cache dropped the keys.
    this.link.publish(this.channels.ack(message.origin), String(message.messageNumber)).catch(() => {});
  }

  private confirmation(text: string): void {
    const wait = this.waits.get(Number(text));
    if (!wait) return;
    wait.got += 1;
    if (wait.got >= wait.need) wait.done();
  }

  /** Subscribed: reads the sequence counter as the starting point, then turns the near cache on. */
  private async establish(): Promise<void> {
    const generation = this.generation;
    let start: number;
    try {
      start = await this.link.read(COHERENCE_SEQUENCE_KEY);
    } catch {
      return; // Still off; the next poll tries again.
    }
    if (this.closed || !this.subscribed || generation !== this.generation || this.isLive) return;
    this.sequence.restart(start);
    this.handler('all');
    this.isLive = true;
    if (this.lostLogged) this.logger.info('cache coherence: invalidation channel back; near cache on');
    this.lostLogged = false;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private lost(reason: string): void {
    this.generation += 1;
    const wasLive = this.isLive;
    this.subscribed = false;
    this.isLive = false;
    this.dropAll();
    if (!wasLive || this.closed) return;
    this.logger.warn(`cache coherence: invalidation channel lost (${reason}); near cache off until it is back`);
    this.lostLogged = true;
  }

  private dropAll(): void {
    this.stats.drops += 1;
    this.handler('all');
  }

  /**
   * The periodic check (every `pollMs`; public for tests): finishes establishing, or looks for
   * missed announcements and drops the near cache when it finds some.
   */
  async checkSequence(): Promise<void> {
    if (this.closed || this.polling) return;
    this.polling = true;
    try {
      if (this.subscribed && !this.isLive) return await this.establish();
      if (!this.isLive) return;
      const generation = this.generation;
      const current = await this.link.read(COHERENCE_SEQUENCE_KEY);
      if (generation !== this.generation || !this.isLive) return;
      if (this.sequence.missed(current)) {
        this.dropAll();
        this.sequence.restart(current);
      }
    } catch {
      // The bus is unreachable: the subscription's own events say whether anything was missed.
    } finally {
      this.polling = false;
    }
  }
}
