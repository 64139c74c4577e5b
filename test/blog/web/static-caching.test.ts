import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_DIR } from '../../../src/app.ts';
import { STATIC_CACHE_CONTROL, staticFiles } from '../../../src/blog/web/static.ts';
import { STATIC_TYPES, StaticAssets } from '../../../src/blog/web/static-assets.ts';
import { fetchRaw } from './static-http.ts';

/** A stylesheet long enough for compression to pay. */
const CSS = Array.from({ length: 60 }, (_, i) => `.rule-${i} { margin: ${i}px; color: #333; }`).join('\n');

async function serve(assets: StaticAssets, aliases?: Record<string, string>): Promise<{ server: Server; port: number }> {
  const app = new Koa();
  app.use(staticFiles(assets, { aliases }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('staticFiles validators and encodings', () => {
  let dir: string;
  let assets: StaticAssets;
  let server: Server;
  let port: number;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetchRaw(port, path, headers, method);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-static-'));
    mkdirSync(join(dir, 'css'));
    writeFileSync(join(dir, 'css', 'site.css'), CSS);
    writeFileSync(join(dir, 'tiny.txt'), 'hi');
    writeFileSync(join(dir, 'image.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
    writeFileSync(join(dir, 'favicon.ico'), 'ico');
    assets = new StaticAssets({ root: dir });
    ({ server, port } = await serve(assets, { '/favicon.ico': 'favicon.ico' }));
  });
  afterAll(async () => {
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every response a strong ETag and Last-Modified, and a matching If-None-Match gets 304 with no body', async () => {
    const first = await get('/static/css/site.css');
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe(CSS);
    expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(Date.parse(first.headers['last-modified'] ?? '')).not.toBeNaN();
    const etag = first.headers.etag ?? '';
    for (const ifNoneMatch of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const again = await get('/static/css/site.css', { 'If-None-Match': ifNoneMatch });
      expect(again.status, ifNoneMatch).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers.etag).toBe(etag);
      expect(again.headers['cache-control']).toBe(STATIC_CACHE_CONTROL.plain);
    }
    expect((await get('/static/css/site.css', { 'If-None-Match': '"nope"' })).status).toBe(200);
  });

  it('answers If-Modified-Since of the last modification or later with 304, and an earlier date with the file', async () => {
    const first = await get('/static/css/site.css');
    const modified = first.headers['last-modified'] ?? '';
    expect((await get('/static/css/site.css', { 'If-Modified-Since': modified })).status).toBe(304);
    const earlier = new Date(Date.parse(modified) - 1000).toUTCString();
    const res = await get('/static/css/site.css', { 'If-Modified-Since': earlier });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(CSS);
    // If-None-Match, when present, decides alone.
    expect((await get('/static/css/site.css', { 'If-Modified-Since': modified, 'If-None-Match': '"nope"' })).status).toBe(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    for (const encoding of ['br', 'gzip', 'identity']) {
      const got = await get('/static/css/site.css', { 'Accept-Encoding': encoding });
      const head = await get('/static/css/site.css', { 'Accept-Encoding': encoding }, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      for (const name of ['etag', 'last-modified', 'content-type', 'content-length', 'content-encoding', 'cache-control', 'vary']) {
        expect(head.headers[name], `${encoding} ${name}`).toEqual(got.headers[name]);
      }
      expect(Number(head.headers['content-length'])).toBe(got.body.length);
      expect((await get('/static/css/site.css', { 'Accept-Encoding': encoding, 'If-None-Match': got.headers.etag ?? '' }, 'HEAD')).status).toBe(304);
    }
  });

  it('sends brotli, preferred, or gzip to clients that accept them, each with its own ETag and its own 304', async () => {
    const identity = await get('/static/css/site.css');
    const br = await get('/static/css/site.css', { 'Accept-Encoding': 'gzip, deflate, br' });
    const gzip = await get('/static/css/site.css', { 'Accept-Encoding': 'gzip, deflate' });
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(br.headers['content-encoding']).toBe('br');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    for (const res of [identity, br, gzip]) expect(res.headers.vary).toBe('Accept-Encoding');
    expect(brotliDecompressSync(br.body).toString()).toBe(CSS);
    expect(gunzipSync(gzip.body).toString()).toBe(CSS);
    expect(br.body.length).toBeLessThan(gzip.body.length);
    expect(gzip.body.length).toBeLessThan(identity.body.length);
    const etags = [identity, br, gzip].map((res) => res.headers.etag);
    expect(new Set(etags).size).toBe(3);
    for (const etag of etags) expect(etag).toMatch(/^"[^"]+"$/);
    // Each ETag revalidates only its own encoding.
    expect((await get('/static/css/site.css', { 'Accept-Encoding': 'br', 'If-None-Match': br.headers.etag ?? '' })).status).toBe(304);
    expect((await get('/static/css/site.css', { 'Accept-Encoding': 'gzip', 'If-None-Match': gzip.headers.etag ?? '' })).status).toBe(304);
    expect((await get('/static/css/site.css', { 'Accept-Encoding': 'gzip', 'If-None-Match': br.headers.etag ?? '' })).status).toBe(200);
    expect((await get('/static/css/site.css', { 'If-None-Match': br.headers.etag ?? '' })).status).toBe(200);
  });

  it('sends the file as it is to a client refusing every compression, and for types that do not compress', async () => {
    const refused = await get('/static/css/site.css', { 'Accept-Encoding': 'gzip;q=0, br;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(refused.headers.vary).toBe('Accept-Encoding');
    expect(refused.body.toString()).toBe(CSS);
    const weighed = await get('/static/css/site.css', { 'Accept-Encoding': 'br;q=0.5, gzip' });
    expect(weighed.headers['content-encoding']).toBe('gzip');
    const png = await get('/static/image.png', { 'Accept-Encoding': 'br, gzip' });
    expect(png.headers['content-encoding']).toBeUndefined();
    expect(png.headers.vary).toBeUndefined();
    // Compressing two bytes makes them longer: identity is sent, under its own ETag.
    const tiny = await get('/static/tiny.txt', { 'Accept-Encoding': 'br, gzip' });
    expect(tiny.headers['content-encoding']).toBeUndefined();
    expect(tiny.headers.etag).toBe((await get('/static/tiny.txt')).headers.etag);
  });

  it('makes each compressed variant once and keeps it', async () => {
    const asset = assets.get('css/site.css');
    if (asset === undefined) throw new Error('no asset');
    const [a, b] = await Promise.all([asset.variant('br'), asset.variant('br')]);
    expect(a).toBe(b);
    expect(await asset.variant('br')).toBe(a);
    expect(assets.get('css/site.css')).toBe(asset);
  });

  it('serves a hashed URL of the current content immutable, a plain URL briefly, and an outdated hash as the current file, revalidated', async () => {
    const url = assets.url('css/site.css');
    expect(url).toMatch(/^\/static\/css\/site\.[0-9a-f]{8}\.css$/);
    const hashed = await get(url, { 'Accept-Encoding': 'br' });
    expect(hashed.status).toBe(200);
    expect(hashed.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(brotliDecompressSync(hashed.body).toString()).toBe(CSS);
    expect((await get('/static/css/site.css')).headers['cache-control']).toBe('public, max-age=300');
    const outdated = await get('/static/css/site.00000000.css');
    expect(outdated.status).toBe(200);
    expect(outdated.headers['cache-control']).toBe('public, no-cache');
    expect(outdated.body.toString()).toBe(CSS);
    expect((await get('/static/css/nothing.00000000.css')).status).toBe(404);
    expect((await get('/static/css/site.0000000.css')).status).toBe(404);
  });

  it('gives a changed file a new hashed URL and ETag at once, without a restart', async () => {
    const file = join(dir, 'css', 'changing.css');
    writeFileSync(file, `${CSS}\n.a {}`);
    const before = assets.url('css/changing.css');
    const etag = (await get('/static/css/changing.css')).headers.etag ?? '';
    writeFileSync(file, `${CSS}\n.a { color: red; }`);
    const after = assets.url('css/changing.css');
    expect(after).not.toBe(before);
    const res = await get('/static/css/changing.css', { 'If-None-Match': etag });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('color: red');
    expect((await get(before)).headers['cache-control']).toBe('public, no-cache');
    expect((await get(after)).headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers an alias outside the folder, such as /favicon.ico, like the plain URL of its file', async () => {
    const res = await get('/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/x-icon');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect((await get('/favicon.ico', { 'If-None-Match': res.headers.etag ?? '' })).status).toBe(304);
  });
});

describe('StaticAssets.url()', () => {
  it('gives the plain URL of a missing file, and refuses a path no URL could serve', () => {
    const assets = new StaticAssets({ root: STATIC_DIR });
    expect(assets.url('css/nothing.css')).toBe('/static/css/nothing.css');
    for (const path of ['../package.json', '/etc/passwd', 'CSS/site.css', 'css//site.css']) expect(() => assets.url(path), path).toThrow(TypeError);
  });
});

/** Every file under `dir`, as paths relative to it with `/` separators. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

describe('the files of static/', () => {
  it('round-trip: every encoding of every file decompresses to exactly its bytes', async () => {
    const files = filesUnder(STATIC_DIR);
    expect(files).toEqual(expect.arrayContaining(['css/site.css', 'toolbar/toolbar.js', 'favicon.svg', 'favicon.ico']));
    const assets = new StaticAssets({ root: STATIC_DIR });
    const { server, port } = await serve(assets);
    try {
      for (const file of files) {
        const bytes = readFileSync(join(STATIC_DIR, file));
        const type = STATIC_TYPES[file.slice(file.lastIndexOf('.'))];
        expect(type, `${file} has a served type`).toBeDefined();
        for (const [accept, decode] of [['br', brotliDecompressSync], ['gzip', gunzipSync], ['identity', (b: Buffer) => b]] as const) {
          for (const url of [`/static/${file}`, assets.url(file)]) {
            const res = await fetchRaw(port, url, { 'Accept-Encoding': accept });
            expect(res.status, url).toBe(200);
            const encoding = res.headers['content-encoding'] ?? 'identity';
            expect(encoding === accept || encoding === 'identity', `${url} ${accept}`).toBe(true);
            const decoded = encoding === 'identity' ? res.body : decode(res.body);
            expect(decoded.equals(bytes), `${url} as ${encoding}`).toBe(true);
          }
        }
        if (type?.compressible && bytes.length > 1000) {
          expect((await fetchRaw(port, `/static/${file}`, { 'Accept-Encoding': 'br' })).headers['content-encoding'], file).toBe('br');
        }
      }
    } finally {
      await stop(server);
    }
  });
});
