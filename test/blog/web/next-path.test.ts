import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginUrl, safeNextPath } from '../../../src/blog/web/next-path.ts';
import { AUTHOR, csrfFrom, startTestApp, type TestApp } from '../../support/app.ts';

describe('safeNextPath()', () => {
  it('accepts paths on this site, with a query', () => {
    for (const path of ['/', '/admin', '/admin/posts/3/edit', '/admin/posts/new', '/category/caf%C3%A9?page=2', '/admin?q=a%2Fb&page=2', '/posts/3']) {
      expect(safeNextPath(path), path).toBe(path);
    }
  });

  it('refuses other sites in every spelling, non-canonical paths and loops to the login', () => {
    for (const raw of [
      '//evil.example', '//evil.example/admin', '/\\evil.example', '\\\\evil.example', '/\\/evil.example', 'https://evil.example', 'http:/evil.example',
      'javascript:alert(1)', 'evil.example', '%2F%2Fevil.example', '/%2F/evil.example', '/%2f%2fevil.example', '/%5Cevil.example', '/%5cevil.example',
      '%252F%252Fevil.example', ' /admin', '/admin ', '/\t/evil.example', '/\n/evil.example', '/ad\rmin', '/admin#x', '/./admin', '/x/../admin',
      '/admin/', '//', '/%61dmin', '/caf\u00e9', '/login', '/login?next=/admin', '/logout', '', `/${'a'.repeat(2048)}`,
    ]) {
      expect(safeNextPath(raw), JSON.stringify(raw)).toBeUndefined();
    }
    for (const raw of [undefined, null, 3, ['/admin'], { path: '/admin' }]) expect(safeNextPath(raw)).toBeUndefined();
  });
});

describe('loginUrl()', () => {
  it('carries a safe path readably, and nothing else', () => {
    expect(loginUrl('/admin/posts/3/edit')).toBe('/login?next=/admin/posts/3/edit');
    expect(loginUrl('/admin?page=2&q=x y')).toBe('/login');
    expect(loginUrl('/admin?page=2&q=x')).toBe('/login?next=/admin%3Fpage%3D2%26q%3Dx');
    expect(loginUrl('//evil.example')).toBe('/login');
    expect(loginUrl(undefined)).toBe('/login');
  });
});

describe('signing in with ?next', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** Follows a browser from the page it asked for to where the login sends it. */
  async function signInVia(loginTarget: string): Promise<string> {
    const browser = t.request();
    const form = await browser.get(loginTarget).expect(200);
    const next = /name="next" value="([^"]*)"/.exec(form.text)?.[1];
    const res = await browser
      .post('/login')
      .type('form')
      .send({ _csrf: csrfFrom(form.text), ...AUTHOR, ...(next === undefined ? {} : { next: next.replace(/&amp;/g, '&') }) })
      .expect(303);
    return String(res.headers.location);
  }

  it('returns to the page that asked for the login', async () => {
    const post = await t.addPost({ title: 'Wanted' });
    const asked = await t.request().get(`/admin/posts/${post.id}/edit`).expect(303);
    expect(asked.headers.location).toBe(`/login?next=/admin/posts/${post.id}/edit`);
    expect(await signInVia(asked.headers.location)).toBe(`/admin/posts/${post.id}/edit`);
    const withQuery = await t.request().get('/admin?page=2').expect(303);
    expect(await signInVia(withQuery.headers.location)).toBe('/admin?page=2');
  });

  it('goes to /admin, never to another site, whatever next says', async () => {
    for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', '%2F%2Fevil.example', '/%2F%2Fevil.example', '/%5Cevil.example', '/login']) {
      const target = `/login?next=${encodeURIComponent(next)}`;
      expect(await signInVia(target), next).toBe('/admin');
    }
  });

  it('refuses a next sent in the form that the page never offered', async () => {
    const browser = t.request();
    const form = await browser.get('/login').expect(200);
    expect(form.text).not.toContain('name="next"');
    await browser.post('/login').type('form').send({ _csrf: csrfFrom(form.text), ...AUTHOR, next: '//evil.example' }).expect(303).expect('Location', '/admin');
  });
});
