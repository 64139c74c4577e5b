import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, setCookieLines, startTestApp, type TestApp } from '../../support/app.ts';
import { recordWrites, storedValues } from '../../reliability/stored.ts';

// The dev toolbar through the real blog: only the site's own host names get it, and another
// browser on the same machine never sees what the author did (here: the preview's Markdown).

const MARKDOWN = 'Unpublished plan: **kiln-secret-draft-4711** ships Friday';
const NEEDLE = 'kiln-secret-draft-4711';
const TOOLBAR_COOKIE = 'kiln_toolbar=';

/** Every Set-Cookie line that gives a browser its toolbar id. */
function toolbarCookies(res: { headers: Record<string, unknown> }): string[] {
  return setCookieLines(res).filter((line) => line.startsWith(TOOLBAR_COOKIE));
}

describe('the dev toolbar of the blog', () => {
  let t: TestApp;
  let written: Set<string>;
  let author: supertest.Agent;
  let previewId: string;

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
    written = recordWrites(t.app.context.services.caching.cache);
    await t.addPost({ title: 'Public post' });
    author = t.request();
    const csrf = await login(author);
    const preview = await author
      .post('/api/v1/preview')
      .set('X-CSRF-Token', csrf)
      .set('Origin', 'http://kiln.test')
      .type('json')
      .send({ markdown: MARKDOWN })
      .expect(200);
    expect(preview.body.html).toContain(NEEDLE);
    previewId = String(preview.headers['x-kiln-toolbar-id']);
  });
  afterAll(() => t?.close());

  it('shows the author their own preview request, keyed by a digest instead of the Markdown', async () => {
    const own = await author.get(`/_toolbar/${previewId}`).expect(200);
    expect(own.body.request.url).toBe('/api/v1/preview');
    const keys: string[] = own.body.request.cache.map((op: { key: string }) => op.key);
    expect(keys.some((key) => /^preview\|66:"[0-9a-f]{64}"\|$/.test(key))).toBe(true);
    expect(own.text).not.toContain(NEEDLE);
    expect([...written].join('\n')).not.toContain(NEEDLE);
  });

  it('never shows the author\'s requests to another browser: not in its list, its detail or its bar', async () => {
    const reader = t.request();
    const page = await reader.get('/').expect(200);
    expect(page.text).toContain('id="kiln-toolbar"');
    const bars = [page.text, (await reader.get('/about').expect(200)).text];
    const list = await reader.get('/_toolbar').expect(200);
    const detail = await reader.get(`/_toolbar/${previewId}`);
    const stranger = await supertest(t.server).get('/_toolbar').expect(200);
    // The Routes tab lists every route, /api/v1/preview included; History and the lists must not name the author's requests.
    const histories = bars.map((bar) => bar.slice(bar.indexOf('id="kiln-tb-panel-history"')));
    for (const text of [...bars, list.text, detail.text, stranger.text]) {
      expect(text).not.toContain(NEEDLE);
      expect(text).not.toContain(previewId);
    }
    for (const text of [...histories, list.text, detail.text, stranger.text]) {
      expect(text).not.toContain('/api/v1/preview');
      expect(text).not.toContain('/admin');
    }
    expect(detail.status).toBe(404);
    expect(list.body.requests.map((r: { url: string }) => r.url)).toEqual(['/about', '/']);
    expect(stranger.body.requests).toEqual([]);
    expect(toolbarCookies(page)).toHaveLength(1);
  });

  it('is a plain 404 with no bar for a host name that is not the site\'s, and refuses a foreign Origin', async () => {
    const attacker = () => supertest(t.server);
    for (const path of ['/_toolbar', `/_toolbar/${previewId}`, '/static/toolbar/toolbar.js']) {
      await attacker().get(path).set('Host', 'attacker.example').expect(404);
    }
    const page = await attacker().get('/').set('Host', 'attacker.example').expect(200);
    expect(page.text).not.toContain('kiln-toolbar');
    expect(toolbarCookies(page)).toEqual([]);
    const token = /data-clear-token="([^"]+)"/.exec((await author.get('/about').expect(200)).text)?.[1] ?? '';
    await attacker().post('/_toolbar/cache/clear').set('Host', 'attacker.example').set('Origin', 'http://attacker.example').set('X-Kiln-Toolbar-Token', token).expect(404);
    await author.post('/_toolbar/cache/clear').set('Origin', 'http://attacker.example').set('X-Kiln-Toolbar-Token', token).expect(403);
    await author.post('/_toolbar/cache/clear').set('Origin', 'http://kiln.test').set('X-Kiln-Toolbar-Token', token).expect(200);
  });

  it('shows the X-Request-Id of the response, the id the access log writes', async () => {
    const page = await author.get('/about').expect(200);
    const id = String(page.headers['x-request-id']);
    expect(page.text).toContain(`<dt>X-Request-Id</dt><dd><code>${id}</code></dd>`);
    const record = await author.get(`/_toolbar/${String(page.headers['x-kiln-toolbar-id'])}`).expect(200);
    expect(record.body.request.requestId).toBe(id);
    expect(t.accessLines.some((line) => line.includes(` id=${id} `))).toBe(true);
  });

  it('never stores its browser cookie with a cached page', async () => {
    for (const path of ['/', '/about', '/feed.xml', '/api/v1/posts']) await t.request().get(path).expect(200);
    const stored = await storedValues(t, written);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.join('\n')).not.toContain('kiln_toolbar');
  });
});

describe('the blog in production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production', SESSION_SECRET: 'production-secret-0123456789abcdef', CACHE_TYPE: 'memory' } });
    await t.addPost({ title: 'Public post' });
  });
  afterAll(() => t?.close());

  it('gives readers no toolbar, no toolbar cookie and a 404 for its routes', async () => {
    const reader = t.request();
    for (const path of ['/', '/', '/about', '/login', '/feed.xml', '/api/v1/posts', '/no-such-page']) {
      const res = await reader.get(path);
      expect(toolbarCookies(res), path).toEqual([]);
      expect(res.text ?? '', path).not.toContain('kiln-toolbar');
    }
    await reader.get('/_toolbar').expect(404);
  });
});
