import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY } from '../../../src/blog/web/security-headers.ts';
import { login, loginRaw, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;
let postId: number;

beforeAll(async () => {
  t = await startTestApp();
  postId = (await t.addPost({ title: 'Hello', category: 'news' })).id;
});
afterAll(() => t.close());

const PUBLIC_PATHS = () => [
  '/',
  '/?page=1',
  `/posts/${postId}`,
  '/category/news',
  '/about',
  '/feed.xml',
  '/api/v1/posts',
  `/api/v1/posts/${postId}`,
  '/static/css/site.css',
  '/posts/999999',
  '/no-such-page',
  '/api/v1/nothing',
];

function expectSecurityHeaders(res: supertest.Response): void {
  expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
}

describe('the Content-Security-Policy', () => {
  it('forbids inline scripts and framing', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
  });
});

describe('anonymous GETs of public pages', () => {
  it('never receive a Set-Cookie, and carry the security headers', async () => {
    for (const path of PUBLIC_PATHS()) {
      const res = await supertest(t.server).get(path);
      expect(res.headers['set-cookie'], path).toBeUndefined();
      expect(res.headers['cache-control'] ?? '', path).not.toContain('private');
      expectSecurityHeaders(res);
    }
  });

  it('never receive a Set-Cookie even with a stale or forged session cookie', async () => {
    const { cookie, csrf } = await loginRaw(t);
    await supertest(t.server).post('/logout').set('Cookie', cookie).type('form').send({ _csrf: csrf }).expect(303);
    for (const sent of [cookie, 'kiln.sid=forged; kiln.sid.sig=forged', 'kiln.sid=x']) {
      for (const path of PUBLIC_PATHS()) {
        const res = await supertest(t.server).get(path).set('Cookie', sent);
        expect(res.headers['set-cookie'], `${path} with ${sent}`).toBeUndefined();
      }
    }
  });
});

describe('pages for the signed-in author', () => {
  it('are Cache-Control: private, no-store, public pages included', async () => {
    const agent = t.request();
    await login(agent);
    for (const path of ['/admin', '/admin/posts/new', `/admin/posts/${postId}/edit`, '/', `/posts/${postId}`, '/about']) {
      const res = await agent.get(path).expect(200);
      expect(res.headers['cache-control'], path).toBe('private, no-store');
      expectSecurityHeaders(res);
    }
  });

  it('do not include the author-only markup for readers', async () => {
    const reader = await supertest(t.server).get('/').expect(200);
    expect(reader.text).not.toContain('Log out');
    expect(reader.text).not.toContain('_csrf');
    const agent = t.request();
    await login(agent);
    const own = await agent.get('/').expect(200);
    expect(own.text).toContain('Log out (author)');
  });
});

describe('Strict-Transport-Security', () => {
  // Every kind of response: pages (a MISS, then a HIT answered by the page front before the
  // chain, then a 304 of it), the feed, a static file, a 404 and an API error.
  const paths = ['/', '/', '/feed.xml', '/static/css/site.css', '/no-such-page', '/api/v1/nothing'];

  async function headersOf(siteUrl: string): Promise<{ hsts: (string | undefined)[]; xCache: string[]; served: number; notModified: string | undefined }> {
    const app = await startTestApp({ env: { SITE_URL: siteUrl, CACHE_TYPE: 'memory' } });
    try {
      await app.addPost({ title: 'Hello' });
      const front = app.app.context.services.pages.pageCache.prepared;
      if (!front) throw new Error('the page front is off');
      const before = front.answered;
      const responses = [];
      for (const path of paths) responses.push(await supertest(app.server).get(path));
      const etag = responses[1].headers.etag ?? '';
      const cached = await supertest(app.server).get('/').set('If-None-Match', etag).expect(304);
      return {
        hsts: responses.map((res) => res.headers['strict-transport-security']),
        xCache: responses.slice(0, 2).map((res) => String(res.headers['x-cache'])),
        served: front.answered - before,
        notModified: cached.headers['strict-transport-security'],
      };
    } finally {
      await app.close();
    }
  }

  it('is on every response of an https site, cached hits from the page front included', async () => {
    const seen = await headersOf('https://kiln.test');
    expect(seen.xCache).toEqual(['MISS', 'HIT']);
    expect(seen.served).toBe(2); // the HIT and the 304 never reached the chain
    expect(seen.hsts).toEqual(paths.map(() => STRICT_TRANSPORT_SECURITY));
    expect(seen.notModified).toBe(STRICT_TRANSPORT_SECURITY);
    expect(STRICT_TRANSPORT_SECURITY).toBe('max-age=31536000; includeSubDomains');
  });

  it('is never sent by an http site', async () => {
    const seen = await headersOf('http://kiln.test');
    expect(seen.xCache).toEqual(['MISS', 'HIT']);
    expect(seen.served).toBe(2);
    expect(seen.hsts).toEqual(paths.map(() => undefined));
    expect(seen.notModified).toBeUndefined();
  });
});
