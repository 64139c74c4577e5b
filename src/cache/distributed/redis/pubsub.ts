import { Redis, type RedisOptions } from 'ioredis';
import type { CoherenceLink, LinkHandlers } from '../coherence/wire.ts';
import { isCluster, keySlot, type RedisClient } from './topology.ts';

/** Options of {@link RedisCoherenceLink}. */
export interface RedisCoherenceLinkOptions {
  /** The backend's command client: publishes, counts and confirms. */
  client: RedisClient;
  /** Runs one command under the backend's deadline (see `RedisBackend`). */
  run<T>(command: (client: RedisClient) => Promise<T>): Promise<T>;
  /** The backend's key prefix, put before the counter's key. */
  prefix: string;
  /** Connection settings for a Cluster's subscription connection (timeouts, password). */
  nodeOptions: RedisOptions;
}

/** Pause before looking for a Cluster's shard owner again after losing it, in ms. */
const REDISCOVER_MS = 200;

/**
 * The coherence bus on Redis pub/sub, on a connection of its own (a subscribed connection can
 * do nothing else).
 *
 * - Single server and Sentinel: `PUBLISH`/`SUBSCRIBE` on a duplicate of the command client,
 *   which reconnects by itself (and follows a Sentinel failover); it subscribes again on every
 *   `ready`.
 * - Cluster: sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7). The channels share one hash tag,
 *   so every process subscribes on the master that owns that slot and `SPUBLISH` (routed there)
 *   counts every subscriber, which the acknowledgements rely on. The subscription is a plain
 *   connection to that master; when it ends, the slot map is refreshed and the owner looked up
 *   again (a failover moves it).
 * Every close reports `down`: messages may have been missed.
 */
export class RedisCoherenceLink implements CoherenceLink {
  private readonly client: RedisClient;
  private readonly sharded: boolean;
  private subscriber: Redis | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RedisCoherenceLinkOptions) {
    this.client = options.client;
    this.sharded = isCluster(options.client);
  }

  /** `PUBLISH` (or `SPUBLISH` on a Cluster); resolves how many subscribers received it. */
  publish(channel: string, text: string): Promise<number> {
    return this.options.run(async (c) => Number(this.sharded ? await c.spublish(channel, text) : await c.publish(channel, text)));
  }

  /** `INCR` of the prefixed counter. */
  incr(key: string): Promise<number> {
    return this.options.run((c) => c.incr(this.options.prefix + key));
  }

  /** The prefixed counter's value; 0 when absent or not a number. */
  async read(key: string): Promise<number> {
    const raw = await this.options.run((c) => c.get(this.options.prefix + key));
    const value = Number(raw ?? 0);
    return Number.isSafeInteger(value) ? value : 0;
  }

  /** Opens the subscription connection and keeps it subscribed to `channels`. */
  listen(channels: readonly string[], handlers: LinkHandlers): void {
    this.connect(channels, handlers);
  }

  /** Closes the subscription connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private connect(channels: readonly string[], handlers: LinkHandlers): void {
    if (this.closed) return;
    const subscriber = this.open(channels[0]);
    if (!subscriber) {
      this.later(channels, handlers);
      return;
    }
    this.subscriber = subscriber;
    // Trouble shows as `close`; the error itself says nothing more to the cache.
    subscriber.on('error', () => {});
    subscriber.on('ready', () => {
      const subscribing = this.sharded ? subscriber.ssubscribe(...channels) : subscriber.subscribe(...channels);
      subscribing.then(
        () => handlers.up(),
        (error: unknown) => {
          handlers.down(`subscribe failed: ${error instanceof Error ? error.message : String(error)}`);
          subscriber.disconnect(!this.sharded);
        },
      );
    });
    subscriber.on(this.sharded ? 'smessage' : 'message', (channel: string, text: string) => handlers.message(channel, text));
    subscriber.on('close', () => handlers.down('subscription connection closed'));
    if (this.sharded) {
      subscriber.once('end', () => {
        if (this.subscriber === subscriber) this.later(channels, handlers);
      });
    }
  }

  /** Looks for the Cluster's shard owner again after a pause, refreshing the slot map first. */
  private later(channels: readonly string[], handlers: LinkHandlers): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    const client = this.client;
    if (isCluster(client) && client.status === 'ready') client.refreshSlotsCache();
    this.retry = setTimeout(() => this.connect(channels, handlers), REDISCOVER_MS);
    this.retry.unref();
  }

  /** A connection for the subscription: a duplicate, or a plain one to the Cluster shard owner. */
  private open(channel: string): Redis | undefined {
    const client = this.client;
    if (!isCluster(client)) return client.duplicate({ autoResubscribe: false, enableOfflineQueue: true });
    const owner = client.slots[keySlot(channel)]?.[0];
    if (owner === undefined) return undefined;
    const colon = owner.lastIndexOf(':');
    const { retryStrategy: _retry, ...rest } = this.options.nodeOptions;
    return new Redis({
      ...rest,
      host: owner.slice(0, colon),
      port: Number(owner.slice(colon + 1)),
      autoResubscribe: false,
      enableOfflineQueue: true,
      // Never reconnect to this node: the owner may have changed; `end` looks it up again.
      retryStrategy: () => null,
    });
  }
}
