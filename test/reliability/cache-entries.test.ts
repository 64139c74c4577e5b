import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { Cache } from '../../src/cache/cache.ts';
import { MAX_ENTRY_LENGTH } from '../../src/cache/codec.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { pageCacheBackends } from '../support/page-cache-backends.ts';
import { closeApp, seedBlog, type SeededBlog } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { cacheOf } from './stored.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-entries-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const backends = await pageCacheBackends({
  scratch,
  variants: ['memory', 'filesystem', 'redis-no-near'],
  // A generous Redis command timeout: moving the huge entry is about decoding, not about a slow Redis.
  env: { CACHE_REDIS_TIMEOUT_MS: '5000' },
});

/** Ways a stored string can go bad, each from the good one. */
/** The kinds of entry a page is made of, by key namespace (fragments: test/cache/nunjucks/fragment-tag.test.ts). */
const KINDS = ['view|', 'view-body|', 'memo|'] as const;
const KINDS_ALL: readonly string[] = KINDS;

const DAMAGE: { name: string; counted: boolean; make(good: string): string; only?: readonly string[] }[] = [
  { name: 'garbage', counted: true, make: () => 'not a cache entry \u0000\uFFFF' },
  { name: 'truncated', counted: true, make: (good) => good.slice(0, Math.max(1, Math.floor(good.length / 2))) },
  { name: 'of another format version', counted: true, make: (good) => good.replace(/^\{"k":1/, '{"k":2') },
  // Only pages (and fragments) check the shape of what they read; a memoized value is trusted.
  { name: 'valid JSON of the wrong shape', counted: false, make: () => '{"k":1,"v":{"v":2,"t":"soon","e":5}}', only: ['view|', 'view-body|'] },
  // Moving 17 MB around is slow on a busy machine: CI puts it under the page key only.
  { name: `huge (over ${MAX_ENTRY_LENGTH} characters)`, counted: true, make: () => `{"k":1,"v":"${'x'.repeat(MAX_ENTRY_LENGTH + 16)}"}`, only: scaled(['view|'], KINDS_ALL) },
];


describe.each(backends)('damaged entries on $name', (backend) => {
  let t: TestApp;
  let blog: SeededBlog;
  /** Keys written per request path, by kind. */
  const written = new Map<string, Set<string>>();

  beforeAll(async () => {
    if (backend.skip) return;
    t = await startTestApp({ env: backend.env() });
    blog = await seedBlog(t, 12);
    cacheOf(t).events.on('op', (event: { op: string; result: string; key: string }) => {
      if (event.op === 'set' && event.result === 'set') {
        for (const kind of KINDS) if (event.key.startsWith(kind)) (written.get(kind) ?? written.set(kind, new Set()).get(kind))?.add(event.key);
      }
    });
  });
  afterAll(async () => {
    if (!backend.skip) await closeApp(t);
  });

  describe.each(DAMAGE)('$name', (damage) => {
    it.skipIf(backend.skip)('is a miss (deleted or replaced), counted, and never a 500 or a wrong page', async () => {
      const path = `/posts/${blog.ids[5]}`;
      const cases: { kind: string; counted: number }[] = [];
      for (const kind of KINDS) {
        if (damage.only && !damage.only.includes(kind)) continue;
        written.clear();
        await cacheOf(t).clear();
        await t.request().get(path).expect(200);
        expect((await t.request().get(path).expect(200)).headers['x-cache']).toBe('HIT');
        const keys = Array.from(written.get(kind) ?? []);
        expect(keys.length, `${kind} entries written for ${path}`).toBeGreaterThan(0);
        const raw = cacheOf(t).backend;
        const bad = new Map<string, string>();
        // One entry at a time: a second huge one would push the first out of a memory cache.
        for (const key of keys.slice(0, 1)) {
          const good = await raw.get(key);
          if (good === undefined) continue;
          bad.set(key, damage.make(good));
          await raw.set(key, bad.get(key) ?? '', 0);
        }
        // Entries below the page are read only when the page is rendered again.
        if (kind !== 'view|') for (const key of written.get('view|') ?? []) await raw.delete(key);
        const corruptBefore = (await cacheOf(t).stats()).corrupt;
        const res = await t.request().get(path);
        expect(res.status, `${kind}: status`).toBe(200);
        expect(res.text, kind).toContain(blog.expect[path]);
        expect(res.text, kind).not.toContain('xxxxxxxxxx');
        // A body is immutable under its ETag, so this process serves it from its own copy and never
        // reads the damaged one (a process without the copy reads, drops and rewrites it).
        if (kind === 'view-body|') {
          cases.push({ kind, counted: 0 });
          continue;
        }
        for (const [key, value] of bad) expect((await raw.get(key)) === value, `${kind}: damaged entry still there`).toBe(false);
        const counted = (await cacheOf(t).stats()).corrupt - corruptBefore;
        if (damage.counted) expect(counted, `${kind}: corrupt entries counted`).toBeGreaterThan(0);
        expect((await t.request().get(path).expect(200)).text).toContain(blog.expect[path]);
        cases.push({ kind, counted });
      }
      recordFigures(`damaged entry, ${damage.name}, ${backend.name}`, { kinds: cases.map((c) => c.kind), corruptCounted: cases.reduce((n, c) => n + c.counted, 0), responses: '200, correct page' });
    }, 60_000);
  });

  it.skipIf(backend.name !== 'filesystem')('treats a torn or altered file as a miss and removes it', async () => {
    const path = '/about';
    await cacheOf(t).clear();
    written.clear();
    await t.request().get(path).expect(200);
    const dir = t.config.cache.dir;
    const stem = createHash('sha256').update(t.config.cache.keyPrefix).digest('hex').slice(0, 16);
    const files = Array.from(written.get('view|') ?? []).map((key) => join(dir, `${stem}-${createHash('sha256').update(key).digest('hex')}`));
    expect(files.length).toBeGreaterThan(0);
    for (const [i, file] of files.entries()) {
      const data = readFileSync(file);
      // Half of them cut short (a torn write), the other half with one byte flipped.
      if (i % 2 === 0) writeFileSync(file, data.subarray(0, data.length - 3));
      else writeFileSync(file, Buffer.concat([data.subarray(0, data.length - 1), Buffer.from([data[data.length - 1] ^ 1])]));
    }
    const res = await t.request().get(path).expect(200);
    expect(res.headers['x-cache']).toBe('MISS');
    expect(res.text).toContain('is a small blog');
    expect((await t.request().get(path).expect(200)).headers['x-cache']).toBe('HIT');
  });
});

describe('cache.set() of a value too large to read back', () => {
  it('stores nothing and reports an error, rather than writing an entry every read would reject', async () => {
    const cache = new Cache({ backend: new MemoryBackend({ maxBytes: 256 * 1024 * 1024 }), logger: { warn: () => {}, info: () => {} } });
    const errors: string[] = [];
    cache.events.on('op', (event: { error?: string }) => event.error && errors.push(event.error));
    expect(await cache.set('big', 'x'.repeat(MAX_ENTRY_LENGTH))).toBe(false);
    expect(await cache.backend.get('big')).toBeUndefined();
    expect(errors).toEqual(['entry too large to cache']);
    expect(cache.health()).toBe('ok');
    expect(await cache.set('fits', 'x'.repeat(MAX_ENTRY_LENGTH - 64))).toBe(true);
    expect(await cache.get('fits')).toHaveLength(MAX_ENTRY_LENGTH - 64);
  });
});
