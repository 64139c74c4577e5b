// The coherence bus as seen from the wire (coherence.ts): what a bus must offer and the
// announcement message; the channels of a scope are named in keys.ts.

/** What was invalidated: some keys (as the cache names them), or everything. */
export type Invalidation = readonly string[] | 'all';

/** Callbacks of {@link CoherenceLink.listen}. */
export interface LinkHandlers {
  /** A message arrived on one of the channels. */
  message(channel: string, text: string): void;
  /** The subscription is (re)established: messages from now on will arrive. */
  up(): void;
  /** Messages may have been missed (error, closed connection); `up` follows when it is back. */
  down(reason: string): void;
}

/** What coherence needs from a shared bus; `distributed/redis/pubsub.ts` implements it on Redis. */
export interface CoherenceLink {
  /** Publishes `text` on `channel`; resolves how many subscribers received it. */
  publish(channel: string, text: string): Promise<number>;
  /** Atomically increments the shared counter `key` and resolves its new value. */
  incr(key: string): Promise<number>;
  /** The shared counter `key`, 0 when absent. */
  read(key: string): Promise<number>;
  /** Subscribes to `channels` (all in one shard) and keeps the subscription alive. */
  listen(channels: readonly string[], handlers: LinkHandlers): void;
  /** Stops listening and releases the subscription. */
  close(): Promise<void>;
}

/** One announcement, decoded. */
export interface Announcement {
  /** The announcing process's id on the bus. */
  origin: string;
  /** The announcing process's own number for it, which confirmations quote. */
  messageNumber: number;
  /** The shared sequence number; a gap means an announcement was missed. */
  sequence: number;
  /** What was invalidated. */
  keys: Invalidation;
}

/** The text of an announcement: JSON with one-letter fields, small on a busy bus (`k: null` = all). */
export function encodeAnnouncement(announcement: Announcement): string {
  const { origin, messageNumber, sequence, keys } = announcement;
  return JSON.stringify({ o: origin, m: messageNumber, s: sequence, k: keys === 'all' ? null : keys });
}

/** The announcement in `text`, or undefined when it is not one. */
export function parseAnnouncement(text: string): Announcement | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const o: unknown = Reflect.get(value, 'o');
  const m: unknown = Reflect.get(value, 'm');
  const s: unknown = Reflect.get(value, 's');
  const k: unknown = Reflect.get(value, 'k');
  if (typeof o !== 'string' || typeof m !== 'number' || typeof s !== 'number') return undefined;
  if (k === null) return { origin: o, messageNumber: m, sequence: s, keys: 'all' };
  if (!Array.isArray(k) || !k.every((key): key is string => typeof key === 'string')) return undefined;
  return { origin: o, messageNumber: m, sequence: s, keys: k };
}
