import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './children.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';
import { waitUntil } from './wait.ts';

/** A host and port. */
export interface Address {
  host: string;
  port: number;
}

/** A private Redis Cluster of masters on free ports, started by a test. */
export interface RedisClusterSetup {
  /** Every master, each a seed node. */
  readonly nodes: readonly Address[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`, as `CACHE_REDIS_CLUSTER` takes it. */
  readonly env: string;
  /** The servers themselves (for killing one, counting keys…). */
  readonly servers: readonly RedisServer[];
  /** Stops every node and removes their folders. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` redis-server processes with `cluster-enabled yes`, joins them with
 * `redis-cli --cluster create` (no replicas) and waits until every node reports the cluster ok.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterSetup> {
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '3000'] }),
      );
    }
    const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map(({ host, port }) => `${host}:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    for (const node of nodes) {
      const client = new Redis({ ...node, lazyConnect: true });
      try {
        await waitUntil(
          () => client.call('CLUSTER', 'INFO').then((info) => String(info).includes('cluster_state:ok'), () => false),
          { timeoutMs: 15_000, what: 'cluster_state:ok' },
        );
      } finally {
        client.disconnect();
      }
    }
    return { nodes, env: nodes.map(({ host, port }) => `${host}:${port}`).join(','), servers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A private Sentinel setup: a master, a replica and one sentinel (quorum 1), started by a test. */
export interface RedisSentinelSetup {
  /** The master name the sentinel monitors. */
  readonly masterName: string;
  /** The sentinel's address. */
  readonly sentinel: Address;
  /** `127.0.0.1:<port>`, as `CACHE_REDIS_SENTINELS` takes it. */
  readonly env: string;
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The port of the current master, as the sentinel reports it. */
  masterPort(): Promise<number>;
  /** How many connections subscribe to `channel` on the current master (`PUBSUB NUMSUB`). */
  subscribersOnMaster(channel: string): Promise<number>;
  /** Asks the sentinel to fail over and resolves once it reports the replica as the master. */
  failover(): Promise<void>;
  /** Stops the sentinel, the replica and the master. */
  stop(): Promise<void>;
}

/** One command on a connection of its own to `address`, closed after the answer. */
async function callOnce(address: Address, command: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({ ...address, lazyConnect: true });
  try {
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** Spawns a sentinel on `port` with `config` and resolves once it monitors the master. */
function launchSentinel(dir: string, port: number, config: string): Promise<ChildProcess> {
  const file = join(dir, 'sentinel.conf');
  writeFileSync(file, config);
  const child = spawn('redis-server', [file, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sentinel on ${port} not ready after 10 s:\n${output}`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sentinel on ${port} exited (${code}):\n${output}`));
    });
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('+monitor master')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

/** Starts a master, a replica of it and a sentinel monitoring them, and waits until the sentinel sees the replica. */
export async function startRedisSentinel(masterName = 'kiln-master'): Promise<RedisSentinelSetup> {
  const master = await startRedisServer();
  const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sentinel-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    const current = child;
    child = undefined;
    // A process ended by a signal has signalCode set and exitCode null: it will emit no more 'exit'.
    if (current && current.exitCode === null && current.signalCode === null) {
      const gone = new Promise((resolve) => {
        current.once('exit', resolve);
        setTimeout(resolve, 5000).unref();
      });
      current.kill('SIGKILL');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([replica.stop(), master.stop()]);
  };
  try {
    child = await launchSentinel(
      dir,
      port,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${masterName} 2000`,
        `sentinel failover-timeout ${masterName} 10000`,
        '',
      ].join('\n'),
    );
    const sentinel = { host: '127.0.0.1', port };
    const ask = (...args: string[]): Promise<unknown> => callOnce(sentinel, 'SENTINEL', ...args);
    const masterPort = async (): Promise<number> => Number(((await ask('get-master-addr-by-name', masterName)) as string[])[1]);
    const replicaKnown = async (): Promise<boolean> => {
      const replicas = (await ask('replicas', masterName)) as string[][];
      return replicas.some((fields) => {
        const info = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i], fields[i + 1]);
        return info.get('port') === String(replica.port) && info.get('flags') === 'slave' && info.get('master-link-status') === 'ok';
      });
    };
    // Each check opens a connection to the sentinel, hence the slower poll.
    const sentinelPoll = { timeoutMs: 20_000, intervalMs: 100 };
    await waitUntil(() => replicaKnown().catch(() => false), { ...sentinelPoll, what: 'sentinel seeing the replica' });
    return {
      masterName,
      sentinel,
      env: `127.0.0.1:${port}`,
      master,
      replica,
      masterPort,
      subscribersOnMaster: async (channel) => {
        const [, count] = (await callOnce({ host: '127.0.0.1', port: await masterPort() }, 'PUBSUB', 'NUMSUB', channel)) as [string, number];
        return Number(count);
      },
      failover: async () => {
        await ask('failover', masterName);
        await waitUntil(() => masterPort().then((port) => port === replica.port, () => false), {
          ...sentinelPoll,
          what: 'failover to the replica',
        });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
