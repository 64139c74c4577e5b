import { afterEach, describe, expect, it } from 'vitest';
import { LOOPBACK_IPS } from '../../../src/cache/koa/client-address.ts';
import { injectBeforeBodyEnd } from '../../../src/cache/toolbar/inspector.ts';
import { hasBar, ToolbarApp } from './toolbar-app.ts';

let app: ToolbarApp;
const ON = { enabled: true, allowedIps: LOOPBACK_IPS };

async function setup(...args: Parameters<typeof ToolbarApp.start>): Promise<ToolbarApp> {
  app = await ToolbarApp.start(...args);
  return app;
}

afterEach(async () => {
  await app?.close();
});

describe('toolbarInspector() injection', () => {
  it('injects the bar just before </body> of an HTML page, with the request id of its record', async () => {
    await setup(ON);
    const res = await app.http().get('/page').expect(200);
    expect(hasBar(res.text)).toBe(true);
    const id = res.headers['x-kiln-toolbar-id'];
    expect(res.text).toContain(`data-request-id="${id}"`);
    expect(res.text).toMatch(/<\/div><link rel="stylesheet" href="\/static\/toolbar\/toolbar.css"><script src="\/static\/toolbar\/toolbar.js" defer><\/script><\/body><\/html>$/);
    expect(res.text.match(/id="kiln-toolbar"/g)).toHaveLength(1);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
  });

  it('links its files by the URLs the app\'s assetUrl makes, such as content-hashed ones', async () => {
    await setup(ON, { assetUrl: (file) => `/static/toolbar/${file.replace('.', '.0123abcd.')}` });
    const res = await app.http().get('/page').expect(200);
    expect(res.text).toContain('<link rel="stylesheet" href="/static/toolbar/toolbar.0123abcd.css"><script src="/static/toolbar/toolbar.0123abcd.js" defer></script></body>');
  });

  it('never injects into JSON, feeds, plain text, streams, non-UTF-8 pages, HEAD or pages without </body>', async () => {
    await setup(ON);
    for (const path of ['/json', '/feed.xml', '/text', '/stream', '/nobody', '/latin1']) {
      const res = await app.http().get(path).buffer(true).expect(200);
      expect(hasBar(res.text ?? res.body?.toString()), path).toBe(false);
    }
    const head = await app.http().head('/page').expect(200);
    expect(head.text ?? '').toBe('');
  });

  it('gives error pages a bar too (any status)', async () => {
    await setup(ON);
    const res = await app.http().get('/missing').expect(404);
    expect(hasBar(res.text)).toBe(true);
  });

  it('shows MISS then, on a HIT, the lookup that served the page', async () => {
    await setup(ON);
    const first = await app.http().get('/page').expect(200);
    const second = await app.http().get('/page').expect(200);
    expect(app.renders).toBe(1);
    expect(first.text).toContain('data-page-cache="MISS"');
    expect(second.text).toContain('data-page-cache="HIT"');
    expect(second.text).toMatch(/<tr class="kiln-tb-row-hit"><td data-label="#">1<\/td><td data-label="Operation">get<\/td><td data-label="Key"><code [^>]*>view\(&#34;&#34;, &#34;\/page&#34;\)<\/code>/);
    const data = await app.http().get(`/_toolbar/${second.headers['x-kiln-toolbar-id']}`).expect(200);
    expect(data.body.request.pageCache).toBe('HIT');
    expect(data.body.request.pageCacheReason).toBe('fresh');
    expect(second.text).toContain('<span class="kiln-tb-reason">a stored page younger than its timeout</span>');
    // The page's own bytes (what was replayed), not the size of the small record that points to them.
    const pageBytes = Buffer.byteLength(first.text.slice(0, first.text.indexOf('<div id="kiln-toolbar"')) + '</body></html>');
    expect(data.body.page).toMatchObject({ status: 'HIT', reason: 'fresh', reasonText: 'a stored page younger than its timeout', bytes: pageBytes });
    expect(second.text).toContain(` · page <b>${pageBytes} B</b>`);
    expect(data.body.request.route).toBe('/page');
    const ops: { op: string; result: string; origin: string }[] = data.body.request.cache;
    expect(ops[0]).toMatchObject({ op: 'get', result: 'hit', origin: 'view', detail: '/page' });
    expect(ops.every((op) => op.op === 'get' && op.result === 'hit')).toBe(true);
  });

  it('stores pages without toolbar markup and shows exactly one bar on every hit', async () => {
    await setup(ON);
    for (let i = 0; i < 3; i += 1) {
      const res = await app.http().get('/page').expect(200);
      expect(res.text.match(/id="kiln-toolbar"/g)).toHaveLength(1);
    }
    expect(app.renders).toBe(1);
    const stored = app.backend.written.join('\n');
    expect(stored).toContain('<h1>render 1</h1>');
    expect(stored).not.toContain('kiln-toolbar');
  });

  it('never modifies a replayed cached Buffer: the bar goes into a copy', async () => {
    await setup(ON);
    await app.http().get('/buffer').expect(200);
    const hit = await app.http().get('/buffer').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hasBar(hit.text)).toBe(true);
    expect(hit.text).toContain('buffer ünïcode');
    const replayed = app.innerBodies.at(-1);
    expect(Buffer.isBuffer(replayed)).toBe(true);
    expect(String(replayed)).not.toContain('kiln-toolbar');
    const again = await app.http().get('/buffer').expect(200);
    expect(again.text.match(/id="kiln-toolbar"/g)).toHaveLength(1);
  });

  it('keeps the background refresh of a stale page off the record of the request that started it', async () => {
    await setup(ON);
    await app.http().get('/swr').expect(200);
    app.clock.advance(61_000);
    const stale = await app.http().get('/swr').expect(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    await app.swr.idle();
    expect(app.renders).toBe(2);
    const data = await app.http().get(`/_toolbar/${stale.headers['x-kiln-toolbar-id']}`).expect(200);
    const ops: { op: string }[] = data.body.request.cache;
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.every((op) => op.op === 'get')).toBe(true);
  });

  it('drops the ETag and forbids storing a page that carries the bar', async () => {
    await setup(ON);
    await app.http().get('/page');
    const hit = await app.http().get('/page').expect(200);
    expect(hit.headers.etag).toBeUndefined();
    expect(hit.headers['cache-control']).toBe('no-store');
  });
});

describe('toolbarInspector() when it must not appear', () => {
  it('is absent in production by default: no bar, no record, its routes and assets 404', async () => {
    // What KILN_TOOLBAR and KILN_TOOLBAR_IPS unset give in production (test/config.test.ts).
    await setup({ enabled: false, allowedIps: LOOPBACK_IPS });
    const res = await app.http().get('/page').expect(200);
    expect(hasBar(res.text)).toBe(false);
    expect(res.headers['x-kiln-toolbar-id']).toBeUndefined();
    await app.http().get('/_toolbar').expect(404);
    await app.http().get('/static/toolbar/toolbar.js').expect(404);
    expect(app.toolbar.collector.size).toBe(0);
  });

  it('is refused to a client outside the allow-list, even when on', async () => {
    await setup({ enabled: true, allowedIps: ['10.1.2.3'] });
    const res = await app.http().get('/page').expect(200);
    expect(hasBar(res.text)).toBe(false);
    await app.http().get('/_toolbar').expect(404);
    await app.http().get('/static/toolbar/toolbar.js').expect(404);
  });

  it('refuses a loopback peer that relays for someone else when the proxy is not trusted', async () => {
    await setup(ON);
    const res = await app.http().get('/page').set('X-Forwarded-For', '203.0.113.9').expect(200);
    expect(hasBar(res.text)).toBe(false);
    await app.http().get('/_toolbar').set('X-Forwarded-For', '203.0.113.9').expect(404);
  });

  it('uses the forwarded address of a trusted proxy against the allow-list', async () => {
    await setup({ enabled: true, allowedIps: ['203.0.113.9'] }, { proxy: true });
    const allowed = await app.http().get('/page').set('X-Forwarded-For', '203.0.113.9').expect(200);
    const other = await app.http().get('/page').set('X-Forwarded-For', '198.51.100.1').expect(200);
    expect(hasBar(allowed.text)).toBe(true);
    expect(hasBar(other.text)).toBe(false);
  });

  it('does not record the favicon or static files, which would crowd the History tab', async () => {
    await setup(ON);
    const favicon = await app.http().get('/favicon.ico').expect(404);
    const css = await app.http().get('/static/css/site.css').expect(404);
    expect(favicon.headers['x-kiln-toolbar-id']).toBeUndefined();
    expect(css.headers['x-kiln-toolbar-id']).toBeUndefined();
    await app.http().get('/page').expect(200);
    expect(app.toolbar.collector.size).toBe(1);
    const list = await app.http().get('/_toolbar').expect(200);
    expect(list.body.requests.map((r: { url: string }) => r.url)).toEqual(['/page']);
  });

  it('serves its assets to allowed clients', async () => {
    await setup(ON);
    const res = await app.http().get('/static/toolbar/toolbar.js').expect(200);
    expect(res.text).toBe('/* toolbar */');
  });
});

describe('injectBeforeBodyEnd()', () => {
  it('inserts before the last </body>, in any case, and refuses a document without one', () => {
    expect(injectBeforeBodyEnd('<body><pre>&lt;/body&gt;</pre></BODY >', 'X')).toBe('<body><pre>&lt;/body&gt;</pre>X</BODY >');
    expect(injectBeforeBodyEnd('<p>a</body><p>b</body>', 'X')).toBe('<p>a</body><p>bX</body>');
    expect(injectBeforeBodyEnd('<p>no end</p>', 'X')).toBeUndefined();
  });
});
