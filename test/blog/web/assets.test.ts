import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_DIR } from '../../../src/app.ts';
import { StaticAssets } from '../../../src/blog/web/static-assets.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { fetchRaw } from './static-http.ts';

// The blog's pages link their static files by content-hashed URL (the `asset()` template helper),
// which are served immutable; the toolbar's injected links are hashed the same way.

const IMMUTABLE = 'public, max-age=31536000, immutable';
const HASHED = /^\/static\/[a-z0-9/._-]+\.[0-9a-f]{8}\.[a-z0-9]+$/;

function port(t: TestApp): number {
  const address = t.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Every `/static/…` URL a page's `href` and `src` attributes name. */
function staticUrls(html: string): string[] {
  return [...html.matchAll(/\b(?:href|src)="(\/static\/[^"]*)"/g)].map((match) => match[1] ?? '');
}

describe('asset URLs of the blog', () => {
  let t: TestApp;
  const assets = new StaticAssets({ root: STATIC_DIR });

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
    await t.addPost({ title: 'A post' });
  });
  afterAll(() => t?.close());

  it('link every page, error pages included, to hashed URLs of the current files, served immutable', async () => {
    const seen = new Set<string>();
    for (const path of ['/', '/about', '/login', '/no-such-page']) {
      const res = await fetchRaw(port(t), path);
      const html = res.body.toString();
      const urls = staticUrls(html);
      expect(urls, path).toEqual(expect.arrayContaining([assets.url('css/site.css'), assets.url('favicon.svg'), assets.url('favicon.ico')]));
      for (const url of urls) {
        expect(url, path).toMatch(HASHED);
        seen.add(url);
      }
    }
    for (const url of seen) {
      const res = await fetchRaw(port(t), url, { 'Accept-Encoding': 'gzip, deflate, br' });
      expect(res.status, url).toBe(200);
      expect(res.headers['cache-control'], url).toBe(IMMUTABLE);
      expect(res.headers.etag, url).toMatch(/^"[^"]+"$/);
    }
  });

  it('answers /favicon.ico, with validators, for the browsers that ask for it unprompted', async () => {
    const res = await fetchRaw(port(t), '/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/x-icon');
    expect(res.body.subarray(0, 4).toString('hex')).toBe('00000100');
    expect((await fetchRaw(port(t), '/favicon.ico', { 'If-None-Match': res.headers.etag ?? '' })).status).toBe(304);
  });

  it('keep the security headers on a 304', async () => {
    const url = assets.url('css/site.css');
    const first = await fetchRaw(port(t), url);
    const again = await fetchRaw(port(t), url, { 'If-None-Match': first.headers.etag ?? '' });
    expect(again.status).toBe(304);
    expect(again.headers['x-content-type-options']).toBe('nosniff');
    expect(again.headers['cache-control']).toBe(IMMUTABLE);
  });
});

describe('the toolbar links of the blog', () => {
  let t: TestApp;
  const assets = new StaticAssets({ root: STATIC_DIR });

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
  });
  afterAll(() => t?.close());

  it('name the hashed toolbar files, which an allowed client gets immutable', async () => {
    const html = (await fetchRaw(port(t), '/')).body.toString();
    const css = assets.url('toolbar/toolbar.css');
    const js = assets.url('toolbar/toolbar.js');
    expect(css).toMatch(HASHED);
    expect(html).toContain(`<link rel="stylesheet" href="${css}">`);
    expect(html).toContain(`<script src="${js}" defer></script>`);
    for (const url of [css, js]) {
      const res = await fetchRaw(port(t), url);
      expect(res.status, url).toBe(200);
      expect(res.headers['cache-control'], url).toBe(IMMUTABLE);
    }
  });
});
