import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { login, startTestApp, type TestApp } from '../support/app.ts';
import { runLoad, sleep, summarize } from '../support/load.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { requireRedisServerBinary } from '../support/services.ts';
import { waitUntil } from '../support/wait.ts';
import { READER_FORBIDDEN, baseUrl, closeApp, editPost, parallelReadsMissing, seedBlog, warm } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';

// Each scenario misbehaves on a private redis-server; the shared one is never touched.
const canSpawn = await requireRedisServerBinary();

let redis: RedisServer | undefined;
let admin: Redis | undefined;
let app: TestApp | undefined;

afterEach(async () => {
  admin?.disconnect();
  admin = undefined;
  await closeApp(app);
  app = undefined;
  await redis?.stop();
  redis = undefined;
});

/** A fault driven through an admin connection while the load runs. */
interface Fault {
  name: string;
  /** Before the load (e.g. a memory limit). */
  before?(admin: Redis): Promise<void>;
  /** Repeated every `everyMs` during the load. */
  tick?(admin: Redis): Promise<unknown>;
  everyMs?: number;
  /** After the load, undoing the fault so the cache can recover. */
  after?(admin: Redis): Promise<void>;
  /** Proof that the fault really happened, from the server and the cache's error messages. */
  happened?(admin: Redis, errors: readonly string[]): Promise<boolean>;
}

/** Sets `maxmemory` a little above what Redis uses now, with `policy`. */
async function nearlyFull(client: Redis, policy: 'noeviction' | 'allkeys-lru', headroom: number): Promise<void> {
  const info = await client.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
  await client.config('SET', 'maxmemory-policy', policy);
  await client.config('SET', 'maxmemory', String(used + headroom));
}

const FAULTS: Fault[] = [
  {
    name: 'slow (CLIENT PAUSE 100 ms every 300 ms, every third 400 ms: past the command timeout)',
    everyMs: 300,
    tick: (() => {
      let n = 0;
      return (client: Redis) => client.call('CLIENT', 'PAUSE', String(++n % 3 === 0 ? 400 : 100), 'ALL');
    })(),
  },
  {
    name: 'connections killed (CLIENT KILL TYPE normal every 250 ms)',
    everyMs: 250,
    tick: (client) => client.call('CLIENT', 'KILL', 'TYPE', 'normal'),
    happened: async (client) => Number(/connected_clients:(\d+)/.exec(await client.info('clients'))?.[1]) >= 1,
  },
  {
    name: 'full, noeviction (maxmemory = used + 32 KB)',
    before: (client) => nearlyFull(client, 'noeviction', 32 * 1024),
    after: async (client) => void (await client.config('SET', 'maxmemory', '0')),
    happened: async (_client, errors) => errors.some((error) => error.includes('OOM')),
  },
  {
    name: 'full, allkeys-lru (maxmemory = used + 128 KB)',
    before: (client) => nearlyFull(client, 'allkeys-lru', 128 * 1024),
    after: async (client) => void (await client.config('SET', 'maxmemory', '0')),
    happened: async (client) => Number(/evicted_keys:(\d+)/.exec(await client.info('stats'))?.[1]) > 0,
  },
  { name: 'flushed (FLUSHALL every 400 ms)', everyMs: 400, tick: (client) => client.flushall() },
];

describe.skipIf(!canSpawn).each(FAULTS)('Redis $name under load', (fault) => {
  it('gives readers 0 errors and correct pages, an edit is seen at once, and hits return afterwards', async () => {
    redis = await startRedisServer();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    admin = client;
    const t = await startTestApp({
      // No near cache: every read goes to the misbehaving Redis.
      env: { CACHE_TYPE: 'redis', CACHE_REDIS_URL: redis.url, CACHE_KEY_PREFIX: `kiln-rel-${randomUUID()}:`, CACHE_NEAR_MAX_BYTES: '0' },
    });
    app = t;
    const blog = await seedBlog(t, scaled(12, 25));
    const author: supertest.Agent = t.request();
    await login(author);
    // The oldest post is edited mid-load; the pages whose text would change are left out of the load.
    const edited = blog.ids[0];
    const paths = blog.paths.filter((path) => !path.endsWith(`/posts/${edited}`));
    await fault.before?.(client);
    await warm(t, paths);
    const errors: string[] = [];
    t.app.context.services.caching.cache.events.on('op', (event: { error?: string }) => {
      if (event.error) errors.push(event.error);
    });

    const duration = scaled(2000, 10_000);
    let ticking = true;
    const ticks = (async () => {
      let count = 0;
      while (ticking && fault.tick) {
        await fault.tick(client).catch(() => undefined);
        count += 1;
        // A fault cadence under load, not a wait: the fault repeats while readers read.
        await sleep(fault.everyMs ?? 500);
      }
      return count;
    })();
    const stale: string[] = [];
    let saved = 0;
    const result = await runLoad({
      baseUrl: baseUrl(t),
      paths,
      expect: blog.expect,
      forbid: READER_FORBIDDEN,
      connections: 4,
      durationMs: duration,
      schedule: [
        {
          atMs: duration / 2,
          name: 'edit',
          run: async () => {
            saved = await editPost(author, edited, { title: 'Edited under the fault' });
            stale.push(...(await parallelReadsMissing(t, `/posts/${edited}`, 'Edited under the fault')));
            stale.push(...(await parallelReadsMissing(t, `/api/v1/posts/${edited}`, 'Edited under the fault')));
          },
        },
      ],
    });
    ticking = false;
    const tickCount = await ticks;
    await fault.after?.(client);

    const summary = summarize(result.samples);
    recordFigures(`redis ${fault.name}`, { duration, ticks: tickCount, ...summary, staleAfterEdit: stale.length });
    expect(summary.errors, summary.problems.join('\n')).toBe(0);
    expect(saved).toBe(303);
    if (fault.happened) expect(await fault.happened(client, errors), 'the fault took effect').toBe(true);
    expect(stale, 'reads right after the acknowledged edit that missed it').toEqual([]);
    await waitUntil(
      async () => {
        await t.request().get('/about');
        return (await t.request().get('/about')).headers['x-cache'] === 'HIT';
      },
      { what: 'a HIT once the fault is over' },
    );
  }, 60_000);
});
