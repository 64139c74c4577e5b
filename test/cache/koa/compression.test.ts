import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Koa from 'koa';
import type { Context } from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheConfigFromEnv, createCache, MemoryBackend, Cache, type CacheBackend } from '../../../src/cache/index.ts';
import {
  createPageCache,
  fastCompressor,
  isCompressibleType,
  useRequestFrame,
  responseCompression,
  smallestCompressor,
  type Compressor,
  type RequestInspector,
} from '../../../src/cache/koa/index.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { sendOnce, type Reply } from '../../support/http-once.ts';
import { requireRedis, SHARED_REDIS_URL } from '../../support/services.ts';

/** A compressor that counts its calls, by coding. */
function counting(inner: Compressor): Compressor & { calls: { br: number; gzip: number } } {
  const calls = { br: 0, gzip: 0 };
  const compressor: Compressor = (coding, body) => {
    calls[coding] += 1;
    return inner(coding, body);
  };
  return Object.assign(compressor, { calls });
}

function decoded(reply: Reply): Buffer {
  const coding = reply.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(reply.bytes);
  if (coding === 'gzip') return gunzipSync(reply.bytes);
  return reply.bytes;
}

/** A page of about 6 KB that compresses well, different for each path. */
const pageOf = (path: string) => `<!doctype html><html><body>${`<p>A paragraph of ${path}, repeated.</p>\n`.repeat(150)}</body></html>`;

const servers: Server[] = [];
const caches: Cache[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const cache of caches.splice(0)) await cache.close();
});

/** One "process": a page cache on `cache` with counting compressors, behind a request frame that answers early and compresses on the fly. */
async function startProcess(cache: Cache, options: { inspector?: RequestInspector } = {}) {
  const stored = counting(smallestCompressor);
  const onTheFly = counting(fastCompressor);
  const pages = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => !ctx.get('Cookie') }, compression: { compressor: stored } });
  let renders = 0;
  const app = new Koa();
  useRequestFrame(app, { headers: {}, earlyAnswers: pages.prepared, compression: responseCompression({ compressor: onTheFly }), inspector: options.inspector });
  app.use(
    pages.view({
      timeout: 60,
      render: (ctx: Context) => {
        renders += 1;
        ctx.type = 'html';
        ctx.body = pageOf(ctx.path);
      },
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { stored, onTheFly, renders: () => renders, get: (path: string, headers: Record<string, string> = {}) => sendOnce(base, path, { headers }) };
}

const redisUp = await requireRedis();

/** The stores a page cache is tested on: each makes caches that share one store, like processes do. */
const STORES: { name: string; skip: boolean; shared: () => Promise<() => Promise<Cache>> }[] = [
  {
    name: 'memory',
    skip: false,
    shared: async () => {
      const clock = new FakeClock();
      const backend: CacheBackend = new MemoryBackend({ clock });
      return async () => new Cache({ backend, clock });
    },
  },
  {
    name: 'redis',
    skip: !redisUp,
    shared: async () => {
      const env = { CACHE_TYPE: 'redis', CACHE_REDIS_URL: SHARED_REDIS_URL, CACHE_KEY_PREFIX: `kiln-test-${randomUUID()}:` };
      return () => createCache(cacheConfigFromEnv(env, { nodeEnv: 'test' }));
    },
  },
];

describe.each(STORES)('stored compressed forms on $name', (store) => {
  it.skipIf(store.skip)('are made once when the page is stored: no hit compresses again, in this process or another', async () => {
    const makeCache = await store.shared();
    const first = await startProcess(await makeCache().then((cache) => (caches.push(cache), cache)));
    const identity = await first.get('/page');
    expect(identity.headers['x-cache']).toBe('MISS');
    expect(first.stored.calls).toEqual({ br: 1, gzip: 1 });
    const headers = ['br, gzip', 'gzip', 'br;q=0, gzip', 'identity', ''];
    for (let i = 0; i < 20; i++) {
      for (const cookie of [{}, { Cookie: 'x=1' }] as Record<string, string>[]) {
        const reply = await first.get('/page', { ...cookie, 'Accept-Encoding': headers[i % headers.length] });
        expect(reply.headers['x-cache']).toBe('HIT');
        expect(decoded(reply).equals(identity.bytes)).toBe(true);
      }
    }
    // A second process on the same store finds the forms with the page.
    const second = await startProcess(await makeCache().then((cache) => (caches.push(cache), cache)));
    for (const accept of ['br', 'gzip']) {
      const reply = await second.get('/page', { 'Accept-Encoding': accept });
      expect([reply.headers['x-cache'], reply.headers['content-encoding']]).toEqual(['HIT', accept]);
      expect(decoded(reply).equals(identity.bytes)).toBe(true);
    }
    expect([first.stored.calls, first.onTheFly.calls, first.renders()]).toEqual([{ br: 1, gzip: 1 }, { br: 0, gzip: 0 }, 1]);
    expect([second.stored.calls, second.onTheFly.calls, second.renders()]).toEqual([{ br: 0, gzip: 0 }, { br: 0, gzip: 0 }, 0]);
  });
});

describe('responseCompression()', () => {
  /** A bare app behind a frame with on-the-fly compression; `answer` sets the response. */
  async function start(answer: (ctx: Context) => void, threshold?: number) {
    const compressor = counting(fastCompressor);
    const app = new Koa();
    useRequestFrame(app, { headers: {}, compression: responseCompression({ compressor, threshold }) });
    app.use((ctx) => answer(ctx));
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { compressor, get: (headers: Record<string, string> = {}, method = 'GET') => sendOnce(base, '/', { headers, method }) };
  }
  const big = 'x'.repeat(2000);

  it('compresses text, JSON data and bytes of compressible types at or above the threshold', async () => {
    for (const [type, body] of [['html', big], ['json', { big }], ['text/css', Buffer.from(big)], ['application/atom+xml', big]] as const) {
      const app = await start((ctx) => {
        ctx.type = type;
        ctx.body = body;
        ctx.set('ETag', '"abc"');
      });
      const reply = await app.get({ 'Accept-Encoding': 'gzip, br' });
      expect([reply.headers['content-encoding'], reply.headers.vary, reply.headers.etag], type).toEqual(['br', 'Accept-Encoding', '"abc-br"']);
      expect(decoded(reply).toString()).toBe(typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString() : JSON.stringify(body));
    }
  });

  it('leaves alone small bodies, other types, encoded or decided responses, no-transform, 204, 304 and HEAD', async () => {
    const cases: [string, (ctx: Context) => void][] = [
      ['small', (ctx) => void (ctx.body = 'x'.repeat(1023))],
      ['image', (ctx) => ((ctx.type = 'png'), (ctx.body = Buffer.from(big)))],
      ['encoded', (ctx) => ((ctx.type = 'html'), ctx.set('Content-Encoding', 'gzip'), (ctx.body = Buffer.from(big)))],
      ['decided', (ctx) => ((ctx.type = 'html'), (ctx.state.contentCoding = 'identity'), (ctx.body = big))],
      ['no-transform', (ctx) => ((ctx.type = 'html'), ctx.set('Cache-Control', 'public, no-transform'), (ctx.body = big))],
      ['204', (ctx) => void (ctx.status = 204)],
      ['304', (ctx) => ((ctx.status = 304), ctx.set('Content-Type', 'text/html'))],
    ];
    for (const [name, answer] of cases) {
      const app = await start(answer);
      const reply = await app.get({ 'Accept-Encoding': 'br, gzip' });
      expect([reply.headers['content-encoding'] ?? 'none', app.compressor.calls], name).toEqual([name === 'encoded' ? 'gzip' : 'none', { br: 0, gzip: 0 }]);
    }
    const head = await start((ctx) => ((ctx.type = 'html'), (ctx.body = big)));
    const reply = await head.get({ 'Accept-Encoding': 'br' }, 'HEAD');
    expect([reply.headers['content-encoding'], reply.headers.vary, head.compressor.calls]).toEqual([undefined, 'Accept-Encoding', { br: 0, gzip: 0 }]);
  });

  it('honours q=0 and sends identity when the client accepts no compression', async () => {
    const app = await start((ctx) => ((ctx.type = 'html'), (ctx.body = big)));
    const refused = await app.get({ 'Accept-Encoding': 'br;q=0, gzip;q=0' });
    expect([refused.headers['content-encoding'], refused.text]).toEqual([undefined, big]);
    expect((await app.get({ 'Accept-Encoding': 'br;q=0, gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await app.get()).headers['content-encoding']).toBeUndefined();
  });

  it('sends identity when the compressor fails', async () => {
    const app = new Koa();
    useRequestFrame(app, { headers: {}, compression: responseCompression({ compressor: () => Promise.reject(new Error('boom')) }) });
    app.use((ctx) => ((ctx.type = 'html'), (ctx.body = big)));
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const reply = await sendOnce(`http://127.0.0.1:${(server.address() as { port: number }).port}`, '/', { headers: { 'Accept-Encoding': 'br' } });
    expect([reply.status, reply.headers['content-encoding'], reply.text]).toEqual([200, undefined, big]);
  });

  it('rejects a bad threshold at start-up', () => {
    expect(() => responseCompression({ threshold: -1 })).toThrow(/threshold/);
  });
});

describe('compression and an inspector that rewrites pages (the dev toolbar)', () => {
  it('gets cached pages in identity to rewrite, and the rewritten page is compressed after it', async () => {
    const inspector: RequestInspector = {
      wants: () => true,
      async inspect(ctx, answer) {
        await answer();
        const body: unknown = ctx.body;
        if (!Buffer.isBuffer(body) || ctx.response.get('Content-Encoding')) throw new Error('the inspector got an encoded page');
        ctx.body = body.toString('utf8').replace('</body>', '<div id="bar"></div></body>');
        ctx.remove('ETag');
      },
    };
    const memory = new Cache({ backend: new MemoryBackend({ clock: new FakeClock() }) });
    const app = await startProcess(memory, { inspector });
    for (const round of ['MISS', 'HIT', 'HIT']) {
      const reply = await app.get('/page', { 'Accept-Encoding': 'br, gzip' });
      expect([reply.status, reply.headers['x-cache'], reply.headers['content-encoding']]).toEqual([200, round, 'br']);
      expect(decoded(reply).toString('utf8')).toBe(pageOf('/page').replace('</body>', '<div id="bar"></div></body>'));
    }
    expect(app.onTheFly.calls.br).toBe(3);
  });
});

describe('isCompressibleType()', () => {
  it('says yes to text, JSON, XML, JS, CSS and SVG, and no to the rest', () => {
    for (const type of ['text/html; charset=utf-8', 'application/json', 'application/atom+xml', 'application/rss+xml', 'text/css', 'text/javascript', 'application/javascript', 'image/svg+xml', 'application/problem+json']) {
      expect(isCompressibleType(type), type).toBe(true);
    }
    for (const type of [undefined, '', 'image/png', 'font/woff2', 'application/octet-stream', 'application/zip', 'application/jsonx']) {
      expect(isCompressibleType(type), String(type)).toBe(false);
    }
  });
});
