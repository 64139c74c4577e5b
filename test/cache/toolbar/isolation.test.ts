import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { LOOPBACK_IPS } from '../../../src/cache/koa/client-address.ts';
import { hostNameOf, hostNames } from '../../../src/cache/toolbar/access.ts';
import { TOOLBAR_BROWSER_COOKIE } from '../../../src/cache/toolbar/browser.ts';
import { TOOLBAR_TOKEN_HEADER } from '../../../src/cache/toolbar/routes.ts';
import { createToolbar } from '../../../src/cache/toolbar/toolbar.ts';
import { ToolbarToken } from '../../../src/cache/toolbar/token.ts';
import { hasBar, SECRET, ToolbarApp } from './toolbar-app.ts';

let app: ToolbarApp;
const ON = { enabled: true, allowedIps: LOOPBACK_IPS };

afterEach(async () => {
  await app?.close();
});

/** The port the test server listens on. */
function port(): string {
  return new URL(app.origin()).port;
}

/** A client with no cookies, addressing the server under `host`. */
function asHost(host: string) {
  const http = supertest(app.app.callback());
  return {
    get: (path: string) => http.get(path).set('Host', host),
    post: (path: string) => http.post(path).set('Host', host),
  };
}

/** The Set-Cookie lines of a response. */
function cookieLines(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers['set-cookie'];
  return Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
}

describe('the toolbar on a host name that is not the site\'s (DNS rebinding)', () => {
  it('answers 404 on every route and asset, injects no bar, records nothing and sets no cookie', async () => {
    app = await ToolbarApp.start(ON);
    const own = await app.http().get('/page').expect(200);
    const id = String(own.headers['x-kiln-toolbar-id']);
    const token = new ToolbarToken(SECRET, app.clock).issue();
    await app.cache.set('kept', 'value', { timeout: 0 });
    const recorded = app.toolbar.collector.size;
    for (const host of ['attacker.example', `attacker.example:${port()}`, `localhost.attacker.example:${port()}`, `127.0.0.1.nip.io:${port()}`, 'kiln.test.attacker.example', 'localhost@attacker.example', '']) {
      const client = asHost(host);
      await client.get('/_toolbar').expect(404);
      await client.get(`/_toolbar/${id}`).expect(404);
      await client.get('/static/toolbar/toolbar.js').expect(404);
      await client.post('/_toolbar/cache/clear').set('Origin', `http://${host}`).set(TOOLBAR_TOKEN_HEADER, token).expect(404);
      const page = await client.get('/page').expect(200);
      expect(hasBar(page.text), host).toBe(false);
      expect(page.headers['x-kiln-toolbar-id'], host).toBeUndefined();
      expect(cookieLines(page), host).toEqual([]);
    }
    expect(app.toolbar.collector.size).toBe(recorded);
    expect(await app.cache.get('kept')).toBe('value');
  });

  it('answers the site\'s name and every loopback form, on any port and in any case', async () => {
    app = await ToolbarApp.start(ON);
    for (const host of [`localhost:${port()}`, 'LOCALHOST', `127.0.0.1:${port()}`, `[::1]:${port()}`, '[::1]', 'kiln.test', 'Kiln.Test:8080']) {
      const page = await asHost(host).get('/page').expect(200);
      expect(hasBar(page.text), host).toBe(true);
      await asHost(host).get('/_toolbar').expect(200);
    }
  });

  it('refuses a clear whose Origin is not on one of the site\'s names (403), and accepts one that is', async () => {
    app = await ToolbarApp.start(ON);
    const token = new ToolbarToken(SECRET, app.clock).issue();
    await app.cache.set('kept', 'value', { timeout: 0 });
    const post = () => app.http().post('/_toolbar/cache/clear').set(TOOLBAR_TOKEN_HEADER, token);
    for (const origin of ['http://attacker.example', `http://attacker.example:${port()}`, `http://localhost.attacker.example:${port()}`, 'ftp://localhost', 'http://localhost/path', 'null', '']) {
      await post().set('Origin', origin).expect(403);
    }
    expect(await app.cache.get('kept')).toBe('value');
    await post().set('Origin', `http://localhost:${port()}`).expect(200, { cleared: true });
  });
});

describe('the toolbar with two browsers', () => {
  it('shows each browser only its own requests: list, detail and History', async () => {
    app = await ToolbarApp.start(ON);
    const a = app.http();
    const b = app.browser();
    const first = await a.get('/page').expect(200);
    const line = cookieLines(first).find((l) => l.startsWith(`${TOOLBAR_BROWSER_COOKIE}=`));
    expect(line).toMatch(/; path=\/; samesite=strict; httponly$/i);
    const secret = await a.get('/posts/secret-draft').expect(200);
    expect(cookieLines(secret)).toEqual([]);
    const secretId = String(secret.headers['x-kiln-toolbar-id']);

    const other = await b.get('/posts/7').expect(200);
    expect(other.text).not.toContain('secret-draft');
    expect(other.text).not.toContain('/page');
    const listB = await b.get('/_toolbar').expect(200);
    expect(listB.body.requests.map((r: { url: string }) => r.url)).toEqual(['/posts/7']);
    await b.get(`/_toolbar/${secretId}`).expect(404);

    const listA = await a.get('/_toolbar').expect(200);
    expect(listA.body.requests.map((r: { url: string }) => r.url)).toEqual(['/posts/secret-draft', '/page']);
    await a.get(`/_toolbar/${secretId}`).expect(200);
    await a.get(`/_toolbar/${other.headers['x-kiln-toolbar-id']}`).expect(404);

    // No cookie, or an id nobody was given: nothing at all.
    const stranger = supertest(app.app.callback());
    expect((await stranger.get('/_toolbar').expect(200)).body.requests).toEqual([]);
    await stranger.get(`/_toolbar/${secretId}`).expect(404);
    const forged = `${TOOLBAR_BROWSER_COOKIE}=${'A'.repeat(22)}`;
    expect((await stranger.get('/_toolbar').set('Cookie', forged).expect(200)).body.requests).toEqual([]);
  });

  it('never stores the browser cookie with a page, and sets it only on pages that show the bar', async () => {
    app = await ToolbarApp.start(ON);
    const json = await app.browser().get('/json').expect(200);
    expect(cookieLines(json)).toEqual([]);
    for (let i = 0; i < 3; i += 1) {
      const page = await app.browser().get('/page').expect(200);
      expect(cookieLines(page).join()).toContain(`${TOOLBAR_BROWSER_COOKIE}=`);
    }
    expect(app.renders).toBe(1);
    expect(app.backend.written.join('\n')).not.toContain(TOOLBAR_BROWSER_COOKIE);
  });
});

describe('createToolbar() hosts', () => {
  const cache = new Cache({ backend: new MemoryBackend() });

  it.each([[['localhost:3000']], [['http://kiln.test']], [['kiln.test/']], [['[nope]']], [[]], [['']]])('refuses %o at start-up', (hosts) => {
    expect(() => createToolbar({ config: ON, cache, secret: SECRET, hosts })).toThrow(/hosts/);
  });

  it('reads the host name of a Host header, and nothing else', () => {
    expect(hostNameOf('LocalHost:3000')).toBe('localhost');
    expect(hostNameOf('[::1]:3000')).toBe('[::1]');
    expect(hostNameOf('a@localhost')).toBeUndefined();
    expect(hostNameOf('localhost:3000:1')).toBeUndefined();
    expect([...hostNames(['::1', 'Kiln.Test', 'dev_box'])]).toEqual(['[::1]', 'kiln.test', 'dev_box']);
  });
});
