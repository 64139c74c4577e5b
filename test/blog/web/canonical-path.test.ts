import { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCaseSensitive, createRouter } from '../../../src/blog/routes/router.ts';
import { isCanonicalPath } from '../../../src/blog/web/canonical-path.ts';
import { CONTENT_SECURITY_POLICY } from '../../../src/blog/web/security-headers.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { rawHeader, rawTarget } from '../../reliability/raw-http.ts';

describe('isCanonicalPath', () => {
  it('accepts the paths Kiln links to, in any letter case, with escapes only where needed', () => {
    for (const path of ['/', '/admin', '/admin/posts/12/edit', '/feed.xml', '/api/v1/posts', '/category/caf%C3%A9', '/ADMIN', '/a%20b', '/a%2525', '/x@y:z', "/(a)!*'", '/%40', '/a..b', '/.well-known']) {
      expect(isCanonicalPath(path), path).toBe(true);
    }
  });

  it('refuses every other spelling', () => {
    for (const path of [
      '', 'admin', '*', '//admin', '/admin/', '/admin//posts', '/admin;x=1', '/admin;', '/./admin', '/x/../admin', '/admin/.', '/admin/..',
      '/%61dmin', '/%2e%2e/admin', '/%2E/admin', '/a%2Fb', '/a%2fb', '/a%5Cb', '/a\\b', '/a%00', '/a%1F', '/a%7F', '/a%7E', '/a%5F', '/a%2D',
      '/a%30', '/a%c3%a9', '/a%', '/a%2', '/a%zz', '/a b', '/caf\u00e9', '/a#b', '/a?b',
    ]) {
      expect(isCanonicalPath(path), JSON.stringify(path)).toBe(false);
    }
  });
});

describe('createRouter', () => {
  it('makes routers whose routes match only their own letter case; the app refuses any other router at start-up', () => {
    const router = createRouter('/admin');
    router.get('/posts/new', () => {});
    expect(router.match('/admin/posts/new', 'GET').route).toBe(true);
    expect(router.match('/Admin/posts/new', 'GET').route).toBe(false);
    expect(() => assertCaseSensitive(router)).not.toThrow();
    expect(() => assertCaseSensitive(new Router())).toThrow(/case-insensitively/);
  });
});

describe('canonicalPaths in the app', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers another spelling 404 with the security headers, and the canonical one as usual', async () => {
    const address = t.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const variant = await rawTarget(address.port, '/about/');
    expect(variant.status).toBe(404);
    expect(rawHeader(variant, 'Content-Security-Policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(rawHeader(variant, 'X-Content-Type-Options')).toBe('nosniff');
    expect((await rawTarget(address.port, '/about')).status).toBe(200);
  });
});
