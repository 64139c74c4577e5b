import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { fragmentKey } from '../../../src/cache/keys.ts';
import { RequestCollector } from '../../../src/cache/toolbar/collector.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

function setup(options: ConstructorParameters<typeof RequestCollector>[0] = {}) {
  const clock = new FakeClock();
  const cache = new Cache({ backend: new MemoryBackend({ clock }), clock, logger: new MemoryLogger() });
  const collector = new RequestCollector({ clock, ...options });
  const stop = collector.watch(cache);
  return { clock, cache, collector, stop };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RequestCollector.run()', () => {
  it('records every cache operation of the request, in order, with origin, detail and a readable key', async () => {
    const { cache, collector } = setup();
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      await cache.get('a');
      await cache.set('a', 'value');
      await cache.get(fragmentKey('sidebar', []), { origin: 'fragment', detail: 'views/base.njk:12' });
      await cache.invalidateTags(['posts']);
      return r;
    });
    expect(record.cache.map((op) => [op.op, op.result, op.origin])).toEqual([
      ['get', 'miss', 'direct'],
      ['set', 'set', 'direct'],
      ['get', 'miss', 'fragment'],
      ['invalidateTags', 'delete', 'direct'],
    ]);
    expect(record.cache[1].bytes).toBe('{"k":1,"v":"value"}'.length); // the encoded entry written
    expect(record.cache[2].detail).toBe('views/base.njk:12');
    expect(record.cache[2].readableKey).toBe('fragment("sidebar", [])');
    expect(record.cache.every((op, i) => i === 0 || op.atMs >= record.cache[i - 1].atMs)).toBe(true);
    expect(record.timings.cacheMs).toBeCloseTo(record.cache.reduce((sum, op) => sum + op.durationMs, 0), 6);
  });

  it('ignores operations outside any request scope', async () => {
    const { cache, collector } = setup();
    await cache.set('outside', 1);
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => r);
    await cache.get('outside');
    expect(record.cache).toEqual([]);
  });

  it('puts nothing on the request for work run outside() its scope', async () => {
    const { cache, collector } = setup();
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      await collector.outside(() => cache.get('refresh'));
      await cache.get('own');
      return r;
    });
    expect(record.cache.map((op) => op.key)).toEqual(['own']);
  });

  it('keeps concurrent requests apart', async () => {
    const { cache, collector } = setup();
    const [a, b] = await Promise.all([
      collector.run({ method: 'GET', url: '/a' }, async (r) => {
        await cache.get('a1');
        await tick();
        await cache.get('a2');
        return r;
      }),
      collector.run({ method: 'GET', url: '/b' }, async (r) => {
        await tick();
        await cache.get('b1');
        return r;
      }),
    ]);
    expect(a.cache.map((op) => op.key)).toEqual(['a1', 'a2']);
    expect(b.cache.map((op) => op.key)).toEqual(['b1']);
    expect(a.id).not.toBe(b.id);
  });

  it('stops recording once the watcher is stopped', async () => {
    const { cache, collector, stop } = setup();
    stop();
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      await cache.get('k');
      return r;
    });
    expect(record.cache).toEqual([]);
  });
});

describe('RequestCollector store', () => {
  it('remembers the last maxRequests records, newest first, and forgets older ones', async () => {
    const { collector } = setup({ maxRequests: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await collector.run({ method: 'GET', url: `/${i}`, browser: 'a' }, async (r) => r.id));
    expect(collector.recent('a').map((r) => r.url)).toEqual(['/4', '/3', '/2']);
    expect(collector.get(ids[0], 'a')).toBeUndefined();
    expect(collector.get(ids[4], 'a')?.url).toBe('/4');
    expect(collector.size).toBe(3);
  });

  it('gives each browser only its own records; a record without a browser is nobody\'s', async () => {
    const { collector } = setup();
    const mine = await collector.run({ method: 'GET', url: '/mine', browser: 'a' }, async (r) => r.id);
    const theirs = await collector.run({ method: 'POST', url: '/theirs', browser: 'b' }, async (r) => r.id);
    const nobody = await collector.run({ method: 'GET', url: '/nobody' }, async (r) => r.id);
    expect(collector.recent('a').map((r) => r.url)).toEqual(['/mine']);
    expect(collector.recent('b').map((r) => r.url)).toEqual(['/theirs']);
    expect(collector.get(mine, 'a')?.url).toBe('/mine');
    expect(collector.get(theirs, 'a')).toBeUndefined();
    expect(collector.get(nobody, 'a')).toBeUndefined();
    expect(JSON.stringify(collector.get(mine, 'a'))).not.toContain('"a"');
  });

  it('bounds each list, counting what it dropped while still adding up the time', async () => {
    const { cache, collector } = setup({ maxItems: 2 });
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      for (let i = 0; i < 5; i += 1) await cache.get(`k${i}`);
      for (let i = 0; i < 3; i += 1) collector.recordQuery({ sql: 'SELECT 1', parameters: 0, durationMs: 2 });
      for (let i = 0; i < 4; i += 1) collector.recordTemplate('t.njk');
      return r;
    });
    expect(record.cache).toHaveLength(2);
    expect(record.dropped).toEqual({ cache: 3, queries: 1, templates: 2, logs: 0 });
    expect(record.timings.dbMs).toBe(6);
  });

  it('shortens long SQL and stamps the wall-clock start from the injected clock', async () => {
    const { collector, clock } = setup({ maxSqlLength: 10 });
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      collector.recordQuery({ sql: 'SELECT * FROM post WHERE id = ?', parameters: 1, durationMs: 0.5 });
      return r;
    });
    expect(record.startedAt).toBe(clock.now());
    expect(record.queries[0]).toMatchObject({ sql: 'SELECT * F…', parameters: 1, durationMs: 0.5 });
  });
});

describe('RequestCollector.measureRender() and finish()', () => {
  it('adds render time once for nested renders, and finish() records the outcome and total time', async () => {
    const { collector } = setup();
    const started = performance.now();
    const record = await collector.run({ method: 'GET', url: '/posts/1' }, async (r) => {
      // The inner render is nearly all of the outer one, so counting both would double the time.
      await collector.measureRender(() =>
        collector.measureRender(async () => {
          for (let i = 0; i < 20; i += 1) await tick();
        }),
      );
      collector.finish(r, { status: 200, route: '/posts/:id', pageCache: 'MISS' });
      return r;
    });
    const wall = performance.now() - started;
    expect(record.timings.renderMs).toBeGreaterThan(0);
    expect(record.timings.renderMs).toBeLessThanOrEqual(record.timings.totalMs);
    expect(record.timings.totalMs).toBeLessThanOrEqual(wall);
    expect(record).toMatchObject({ status: 200, route: '/posts/:id', pageCache: 'MISS', finished: true });
  });
});
