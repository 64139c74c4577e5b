import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NearCacheBackend } from '../../src/cache/distributed/near-cache.ts';
import { createRedisStack } from '../../src/cache/distributed/redis/stack.ts';
import { Cache } from '../../src/cache/cache.ts';
import type { Invalidation } from '../../src/cache/distributed/coherence/wire.ts';
import { COHERENCE_SEQUENCE_KEY, coherenceChannels } from '../../src/cache/keys.ts';
import { Coherence, type Schedule } from '../../src/cache/distributed/coherence/coherence.ts';
import { measureInvalidationLag, startKilnFleet, type KilnFleet } from '../support/kiln-fleet.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { SHARED_REDIS_URL, requireRedis, requireRedisServerBinary } from '../support/services.ts';
import { coherenceSuite } from './coherence-suite.ts';
import { uniquePrefix } from './helpers.ts';
import { MemoryLogger } from '../support/memory-logger.ts';
import { MemoryBus, type BusLink } from './near-helpers.ts';
import { waitUntil } from '../support/wait.ts';

const sharedUp = await requireRedis();
const canSpawn = await requireRedisServerBinary();
const FULL = process.env.KILN_FULL === '1';

interface Node {
  coherence: Coherence;
  link: BusLink;
  heard: Invalidation[];
  logger: MemoryLogger;
}

const nodes: Node[] = [];

afterEach(async () => {
  for (const node of nodes.splice(0)) await node.coherence.close();
});

/** Timers a test runs by hand: an ack timeout passes when the test says so, not after a real wait. */
class ManualSchedule {
  private pending: { run: () => void; ms: number }[] = [];
  readonly schedule: Schedule = (run, ms) => {
    const item = { run, ms };
    this.pending.push(item);
    return () => {
      this.pending = this.pending.filter((other) => other !== item);
    };
  };

  /** The delays of the callbacks waiting to run. */
  get waiting(): number[] {
    return this.pending.map((item) => item.ms);
  }

  /** Runs every waiting callback, as if its time had come. */
  fire(): void {
    for (const item of this.pending.splice(0)) item.run();
  }
}

/** Lets every delivery already scheduled on the in-memory bus arrive. */
const deliveries = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A process's coherence on an in-memory bus, recording what it was told to drop. */
async function node(bus: MemoryBus, ackTimeoutMs = 200, schedule?: Schedule): Promise<Node> {
  const link = bus.link();
  const logger = new MemoryLogger();
  const coherence = new Coherence({ link, scope: 'scope:', pollMs: 0, ackTimeoutMs, logger, schedule });
  const heard: Invalidation[] = [];
  coherence.onInvalidate((what) => heard.push(what));
  await coherence.ready();
  heard.length = 0;
  const made = { coherence, link, heard, logger };
  nodes.push(made);
  return made;
}

describe('coherence.publishInvalidation()', () => {
  it('resolves only once every other process has dropped the keys, and never tells the publisher itself', async () => {
    const bus = new MemoryBus();
    const [a, b, c] = [await node(bus), await node(bus), await node(bus)];
    await a.coherence.publishInvalidation(['post:1', 'index']);
    expect(b.heard).toEqual([['post:1', 'index']]);
    expect(c.heard).toEqual([['post:1', 'index']]);
    expect(a.heard).toEqual([]);
    await b.coherence.publishInvalidation('all');
    expect(a.heard).toEqual(['all']);
    expect(a.coherence.stats).toMatchObject({ published: 1, received: 1, missedAcks: 0 });
  });

  it('gives up waiting after the ack timeout for a process that does not confirm, and logs it once', async () => {
    const bus = new MemoryBus();
    const timers = new ManualSchedule();
    const a = await node(bus, 30, timers.schedule);
    const b = await node(bus, 30);
    b.link.mute = true;
    for (let i = 0; i < 2; i++) {
      let settled = false;
      const publishing = a.coherence.publishInvalidation(['k']).then(() => (settled = true));
      await deliveries();
      await deliveries();
      expect(settled).toBe(false); // still waiting for b, until the ack timeout
      expect(timers.waiting).toEqual([30]);
      timers.fire();
      await publishing;
    }
    expect(b.heard).toEqual([['k'], ['k']]);
    expect(a.coherence.stats.missedAcks).toBe(2);
    expect(a.logger.warns).toHaveLength(1);
    b.link.mute = false;
    await a.coherence.publishInvalidation(['k']);
    expect(a.logger.infos).toHaveLength(1);
  });

  it('drops the whole near cache when its own announcement does not come back', async () => {
    const bus = new MemoryBus();
    const timers = new ManualSchedule();
    const a = await node(bus, 30, timers.schedule);
    a.link.lose = 1;
    const publishing = a.coherence.publishInvalidation(['k']);
    await deliveries();
    expect(a.heard).toEqual([]);
    timers.fire();
    await publishing;
    expect(a.heard).toEqual(['all']);
  });

  it('rejects when the announcement cannot be sent', async () => {
    const bus = new MemoryBus();
    const a = await node(bus);
    a.link.publish = () => Promise.reject(new Error('bus down'));
    await expect(a.coherence.publishInvalidation(['k'])).rejects.toThrow('bus down');
  });
});

describe('coherence safe fallback', () => {
  it('drops everything and is not live while the subscription is lost, until it is back', async () => {
    const bus = new MemoryBus();
    const a = await node(bus);
    expect(a.coherence.live).toBe(true);
    a.link.down();
    expect(a.coherence.live).toBe(false);
    expect(a.heard).toEqual(['all']);
    a.link.up();
    await a.coherence.ready();
    expect(a.coherence.live).toBe(true);
    expect(a.heard).toEqual(['all', 'all']);
  });

  it('drops everything when a lost announcement is still missing at the next sequence check', async () => {
    const bus = new MemoryBus();
    const timers = new ManualSchedule();
    const a = await node(bus, 20, timers.schedule);
    const b = await node(bus, 20);
    b.link.lose = 1;
    const publishing = a.coherence.publishInvalidation(['k']);
    await deliveries();
    timers.fire(); // b never confirms what it never heard
    await publishing;
    expect(b.heard).toEqual([]);
    await b.coherence.checkSequence();
    expect(b.heard).toEqual([]); // it may still be on its way
    await b.coherence.checkSequence();
    expect(b.heard).toEqual(['all']);
    await b.coherence.checkSequence();
    expect(b.heard).toEqual(['all']);
  });

  it('does not drop anything for an announcement that arrives late, before the next check', async () => {
    const bus = new MemoryBus();
    const b = await node(bus);
    const seq = bus.incr(COHERENCE_SEQUENCE_KEY); // another process counted its announcement, not yet sent
    await b.coherence.checkSequence();
    const { bus: channel } = coherenceChannels('scope:', 'someone');
    bus.deliver(channel, JSON.stringify({ o: 'someone', m: 1, s: seq, k: ['late'] }));
    await new Promise((resolve) => setImmediate(resolve));
    await b.coherence.checkSequence();
    expect(b.heard).toEqual([['late']]);
  });

  it('drops everything when the counter goes backwards (a clear() removed it)', async () => {
    const bus = new MemoryBus();
    const a = await node(bus);
    const b = await node(bus);
    await a.coherence.publishInvalidation(['k']);
    bus.reset(COHERENCE_SEQUENCE_KEY);
    await b.coherence.checkSequence();
    expect(b.heard).toEqual([['k'], 'all']);
  });

  it('drops everything when an unreadable message arrives on its channel', async () => {
    const bus = new MemoryBus();
    const b = await node(bus);
    bus.deliver(coherenceChannels('scope:', 'x').bus, '{"not":"ours"');
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.heard).toEqual(['all']);
  });
});

describe.skipIf(!sharedUp)('coherence on the shared Redis', () => {
  coherenceSuite('redis', (prefix) =>
    createRedisStack({ url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2000, nearMaxBytes: 1 << 24, nearTtl: 10, logger: new MemoryLogger() }),
  );
});

describe.skipIf(!canSpawn)('coherence when the subscription breaks (private redis-server)', () => {
  let server: RedisServer;
  let admin: Redis;
  const caches: Cache[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    admin.on('error', () => {}); // the restart test drops its connection on purpose
  });

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
  });

  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  async function nearCache(prefix: string): Promise<{ cache: Cache; backend: NearCacheBackend }> {
    const backend = createRedisStack({ url: server.url, prefix, commandTimeoutMs: 2000, nearMaxBytes: 1 << 24, nearTtl: 10, logger: new MemoryLogger() });
    if (!(backend instanceof NearCacheBackend)) throw new Error('expected a near cache');
    await backend.whenLive();
    const cache = new Cache({ backend });
    caches.push(cache);
    return { cache, backend };
  }

  it('drops the near cache when its subscriber connection is killed, and serves the new value after', async () => {
    const prefix = uniquePrefix('killed-sub');
    const a = await nearCache(prefix);
    const b = await nearCache(prefix);
    await a.cache.set('k', 'old');
    // The overwrite's announcement may still be on its way and drop the first copy b keeps.
    await waitUntil(async () => {
      await b.cache.get('k');
      return b.backend.nearStats().entries === 1;
    }, { timeoutMs: 1000, intervalMs: 5, what: 'a near copy that stays' });
    const clients = await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub');
    const ids = String(clients).split('\n').filter(Boolean).map((line) => /id=(\d+)/.exec(line)?.[1]);
    expect(ids.length).toBe(2);
    // Both subscriptions die at once: nobody would hear the next announcement.
    for (const id of ids) await admin.client('KILL', 'ID', String(id));
    await a.cache.set('k', 'new');
    expect(await b.cache.get('k')).toBe('new');
    await b.backend.whenLive();
    expect(await b.cache.get('k')).toBe('new');
    expect(await b.cache.get('k')).toBe('new');
    expect(b.backend.nearStats().entries).toBe(1);
  });

  it('drops the near cache when Redis restarts empty', async () => {
    const prefix = uniquePrefix('restart');
    const a = await nearCache(prefix);
    await a.cache.set('k', 'before');
    await a.cache.get('k');
    expect(a.backend.nearStats().entries).toBe(1);
    await server.restart();
    expect(a.backend.nearStats().entries).toBe(0);
    await a.backend.whenLive();
    expect(await a.cache.get('k')).toBeUndefined();
  });
});

describe.skipIf(!canSpawn)('three real Kiln processes on one Redis', () => {
  const EDITS = FULL ? 200 : 30;
  let server: RedisServer;
  let fleet: KilnFleet | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
    fleet = await startKilnFleet(3, { CACHE_TYPE: 'redis', CACHE_REDIS_URL: server.url, CACHE_KEY_PREFIX: 'kiln:' });
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await server?.stop();
  });

  it(`shows every one of ${EDITS} edits made through A to readers on B and C on their very next request`, async () => {
    const [a, b, c] = fleet?.nodes ?? [];
    const report = await measureInvalidationLag(a.url, [b.url, c.url], EDITS);
    console.log(`[scale-out] invalidation lag over ${report.edits} edits, 3 processes: worst ${report.worstLagMs} ms, median ${report.medianLagMs} ms, stale reads ${report.stale}`);
    expect(report.uncachedStatuses).toEqual([]);
    expect(report.stale).toBe(0);
  }, 120_000);
});
