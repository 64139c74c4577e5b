import { afterEach, describe, expect, it } from 'vitest';
import { LOOPBACK_IPS } from '../../../src/cache/koa/client-address.ts';
import { TOOLBAR_TOKEN_HEADER } from '../../../src/cache/toolbar/routes.ts';
import { ToolbarToken, TOOLBAR_TOKEN_LIFETIME_MS } from '../../../src/cache/toolbar/token.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { SECRET, SITE, ToolbarApp } from './toolbar-app.ts';

let app: ToolbarApp;

afterEach(async () => {
  await app?.close();
});

async function setup(): Promise<ToolbarApp> {
  app = await ToolbarApp.start({ enabled: true, allowedIps: LOOPBACK_IPS });
  return app;
}

/** The Clear button's token, read from a page's bar as the script does. */
async function tokenFromPage(): Promise<string> {
  const res = await app.http().get('/page').expect(200);
  const match = /data-clear-token="([^"]+)"/.exec(res.text);
  if (!match) throw new Error('no token on the bar');
  return match[1];
}

describe('GET /_toolbar and /_toolbar/:requestId', () => {
  it('lists recent requests, newest first, and serves one request as JSON', async () => {
    await setup();
    const a = await app.http().get('/page');
    const b = await app.http().get('/posts/7');
    const list = await app.http().get('/_toolbar').expect(200).expect('Content-Type', /json/);
    expect(list.body.requests.map((r: { url: string }) => r.url)).toEqual(['/posts/7', '/page']);
    const one = await app.http().get(`/_toolbar/${b.headers['x-kiln-toolbar-id']}`).expect(200);
    expect(one.body.request).toMatchObject({ method: 'GET', url: '/posts/7', route: '/posts/:id', status: 200, pageCache: 'MISS' });
    const ops: string[] = one.body.request.cache.map((op: { op: string; result: string }) => `${op.op}:${op.result}`);
    expect(ops[0]).toBe('get:miss');
    expect(ops).toContain('set:set');
    expect(one.body.stats.origins.view.misses).toBeGreaterThanOrEqual(2);
    expect(one.body.breakerState).toBeNull();
    expect(a.headers['x-kiln-toolbar-id']).not.toBe(b.headers['x-kiln-toolbar-id']);
  });

  it('answers 404 for a forgotten or malformed id, and 405 for other methods', async () => {
    await setup();
    await app.http().get('/_toolbar/unknown-id').expect(404).expect('Content-Type', /json/);
    await app.http().get('/_toolbar/a/b').expect(404);
    await app.http().post('/_toolbar/abc').set('Origin', SITE).expect(405).expect('Allow', 'GET, HEAD');
    await app.http().get('/_toolbar/cache/clear').expect(405).expect('Allow', 'POST');
  });
});

describe('POST /_toolbar/cache/clear', () => {
  it('clears the cache for a same-origin request carrying the bar token', async () => {
    await setup();
    const token = await tokenFromPage();
    expect((await app.backend.stats()).entries).toBeGreaterThan(0);
    await app.http().post('/_toolbar/cache/clear').set('Origin', app.origin()).set(TOOLBAR_TOKEN_HEADER, token).expect(200, { cleared: true });
    expect((await app.backend.stats()).entries).toBe(0);
    const after = await app.http().get('/page').expect(200);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(app.renders).toBe(2);
  });

  it('accepts the configured site origin too', async () => {
    await setup();
    const token = await tokenFromPage();
    await app.http().post('/_toolbar/cache/clear').set('Origin', SITE).set(TOOLBAR_TOKEN_HEADER, token).expect(200);
  });

  it('refuses (403) a missing or foreign Origin, or a missing, forged or expired token, and clears nothing', async () => {
    await setup();
    const token = await tokenFromPage();
    await app.cache.set('kept', 'value', { timeout: 0 });
    const post = () => app.http().post('/_toolbar/cache/clear');
    await post().set(TOOLBAR_TOKEN_HEADER, token).expect(403);
    await post().set('Origin', 'https://evil.example').set(TOOLBAR_TOKEN_HEADER, token).expect(403);
    await post().set('Origin', 'null').set(TOOLBAR_TOKEN_HEADER, token).expect(403);
    await post().set('Origin', app.origin()).expect(403);
    const forged = new ToolbarToken('another-secret-0123456789', app.clock).issue();
    await post().set('Origin', app.origin()).set(TOOLBAR_TOKEN_HEADER, forged).expect(403);
    app.clock.advance(TOOLBAR_TOKEN_LIFETIME_MS + 1);
    await post().set('Origin', app.origin()).set(TOOLBAR_TOKEN_HEADER, token).expect(403);
    expect(await app.cache.get('kept')).toBe('value');
  });

  it('is refused (404) to a client outside the allow-list, even with a valid token', async () => {
    app = await ToolbarApp.start({ enabled: true, allowedIps: ['10.0.0.1'] });
    const token = new ToolbarToken(SECRET, app.clock).issue();
    await app.http().post('/_toolbar/cache/clear').set('Origin', app.origin()).set(TOOLBAR_TOKEN_HEADER, token).expect(404);
  });
});

describe('ToolbarToken', () => {
  it('verifies its own tokens until they expire, and nothing else', () => {
    const clock = new FakeClock();
    const tokens = new ToolbarToken(SECRET, clock);
    const token = tokens.issue();
    expect(tokens.verify(token)).toBe(true);
    expect(tokens.verify(undefined)).toBe(false);
    expect(tokens.verify(`${token}x`)).toBe(false);
    expect(tokens.verify(token.replace(/^\d+/, (n) => String(Number(n) - 1)))).toBe(false);
    clock.advance(TOOLBAR_TOKEN_LIFETIME_MS);
    expect(tokens.verify(token)).toBe(false);
    expect(() => new ToolbarToken('short')).toThrow(/16 characters/);
  });
});
