import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../../src/blog/web/security-headers.ts';
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
