// The coherence bus as seen from the wire (coherence.ts): what a bus must offer, the channels of
// a scope, and the announcement message.

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

/** What coherence needs from a shared bus; `backends/redis-pubsub.ts` implements it on Redis. */
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

/** @deprecated Import `COHERENCE_SEQUENCE_KEY` and `coherenceChannels` from keys.ts. */
export { COHERENCE_SEQUENCE_KEY as SEQUENCE_KEY, coherenceChannels } from './keys.ts';

/** One announcement: origin process, its message number, the shared sequence number, the keys (null = all). */
export interface Message {
  o: string;
  m: number;
  s: number;
  k: readonly string[] | null;
}

/** The announcement in `text`, or undefined when it is not one. */
export function parseMessage(text: string): Message | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') return undefined;
    const { o, m, s, k } = value as Record<string, unknown>;
    if (typeof o !== 'string' || typeof m !== 'number' || typeof s !== 'number') return undefined;
    if (k !== null && !(Array.isArray(k) && k.every((key) => typeof key === 'string'))) return undefined;
    return { o, m, s, k: k as string[] | null };
  } catch {
    return undefined;
  }
}
