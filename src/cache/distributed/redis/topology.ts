import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CACHE_DEFAULTS } from '../../defaults.ts';

/**
 * The three shapes a Redis deployment takes for the cache, and what differs between them:
 * - a single server (`url` or `host`/`port`);
 * - Sentinel (`sentinels` + `sentinelMaster`): the client asks the sentinels where the master
 *   is and follows it after a failover;
 * - Cluster (`cluster` seed nodes): keys live in 16,384 hash slots spread over several masters,
 *   so a command naming several keys works only when they share a slot. {@link groupBySlot}
 *   splits multi-key operations per slot, and `clear()` scans every master.
 */

/** A host and port of a Redis node or sentinel. */
export interface RedisAddress {
  host: string;
  port: number;
}

/** A client of any of the three topologies. */
export type RedisClient = Redis | Cluster;

/** Where to connect: one server, a Sentinel-monitored master, or a Cluster. */
export interface RedisTopologyOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://…`; wins over `host`/`port`. */
  url?: string;
  /** Server host when no `url` is given (default `127.0.0.1`). */
  host?: string;
  /** Server port when no `url` is given (default 6379). */
  port?: number;
  /** Password, used when the URL carries none. */
  password?: string;
  /** Database index, used when the URL names none (not on a Cluster). */
  db?: number;
  /** Sentinels to ask for the master (with `sentinelMaster`); wins over `url` and `host`. */
  sentinels?: readonly RedisAddress[];
  /** The master name the sentinels monitor. */
  sentinelMaster?: string;
  /** Seed nodes of a Redis Cluster; wins over everything else. */
  cluster?: readonly RedisAddress[];
}

/** The topology the options describe. */
export function topologyOf(options: RedisTopologyOptions): 'single' | 'sentinel' | 'cluster' {
  if (options.cluster !== undefined && options.cluster.length > 0) return 'cluster';
  if (options.sentinels !== undefined && options.sentinels.length > 0) return 'sentinel';
  return 'single';
}

/**
 * Opens a client for the options' topology. `nodeOptions` are the fail-fast settings of each
 * connection (see `failFastOptions`); a Cluster also refuses commands while it has no slot map.
 */
export function createRedisClient(options: RedisTopologyOptions, nodeOptions: RedisOptions): RedisClient {
  const retry = nodeOptions.retryStrategy;
  switch (topologyOf(options)) {
    case 'cluster': {
      const { host: _host, port: _port, db: _db, retryStrategy: _retry, enableOfflineQueue: _queue, ...perNode } = nodeOptions;
      return new Cluster(
        (options.cluster ?? []).map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: false,
          enableReadyCheck: true,
          clusterRetryStrategy: (times: number) => retry?.(times) ?? CACHE_DEFAULTS.redis.maxReconnectDelayMs,
          retryDelayOnFailover: 100,
          retryDelayOnClusterDown: 100,
          slotsRefreshTimeout: nodeOptions.connectTimeout ?? CACHE_DEFAULTS.redis.connectTimeoutMs,
          redisOptions: { ...perNode, ...(options.password === undefined ? {} : { password: options.password }) },
        },
      );
    }
    case 'sentinel': {
      const { host: _host, port: _port, ...rest } = nodeOptions;
      return new Redis({
        ...rest,
        sentinels: (options.sentinels ?? []).map(({ host, port }) => ({ host, port })),
        name: options.sentinelMaster,
        sentinelRetryStrategy: (times: number) => retry?.(times) ?? CACHE_DEFAULTS.redis.maxReconnectDelayMs,
        sentinelCommandTimeout: nodeOptions.connectTimeout ?? CACHE_DEFAULTS.redis.connectTimeoutMs,
        // Sentinel announces a switch of master: reconnect to the new one at once.
        failoverDetector: true,
      });
    }
    case 'single':
      return options.url === undefined ? new Redis(nodeOptions) : new Redis(options.url, nodeOptions);
  }
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/**
 * The Redis Cluster hash slot of a key: CRC16 (XMODEM) of its UTF-8 bytes modulo 16,384, over
 * only the text between the first `{` and the next `}` when that text is not empty (a hash tag).
 */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc % 16384;
}

/** The positions of `keys` grouped by hash slot, so each group can go in one multi-key command. */
export function groupBySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  });
  return Array.from(groups.values());
}

/** Whether a client is a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}
