import { scryptSync, timingSafeEqual } from 'node:crypto';
import { Router } from '@koa/router';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserEntity } from '../../src/blog/entities/user.ts';
import { PasswordHasher, defaultHasher } from '../../src/blog/password.ts';
import { AUTHOR, SITE_URL, TEST_PASSWORDS, login, loginForm, postLogin, setCookieLines, startTestApp, type TestApp } from '../support/app.ts';
import { closeApp } from './blog.ts';
import { recordFigures } from './scale.ts';

// Already proven in test/blog and cited in RELIABILITY.md: session fixation and forged session
// cookies (routes/auth.test.ts), logout revocation of a copied cookie (routes/auth.test.ts),
// login throttling and TRUST_PROXY (routes/auth.test.ts, web/throttle.test.ts), CSRF refusals on
// the admin forms and the login form (web/csrf.test.ts), security headers and
// `private, no-store` author pages (web/security-headers.test.ts), 409 conflicts
// (routes/admin.test.ts). What follows covers the rest.

let t: TestApp;
let postId: number;

beforeAll(async () => {
  // The real hasher, not the test apps' cheap one: its parameters are what this file checks.
  t = await startTestApp({ env: { CACHE_TYPE: 'memory' }, passwords: defaultHasher });
  postId = (await t.addPost({ title: 'Target post', category: 'news' })).id;
});
afterAll(() => closeApp(t));

describe('the stored password hash', () => {
  it('is scrypt with N ≥ 2^17, r ≥ 8, p ≥ 1, a 16-byte random salt and a 64-byte key, and really derives from the password', async () => {
    const rows: { password_hash: string }[] = await t.dataSource.query("SELECT password_hash FROM app_user WHERE username = 'author'");
    expect(rows).toHaveLength(1);
    const [scheme, n, r, p, salt, hash] = rows[0].password_hash.split('$');
    expect(scheme).toBe('scrypt');
    expect(Number(n)).toBeGreaterThanOrEqual(2 ** 17);
    expect(Number(r)).toBeGreaterThanOrEqual(8);
    expect(Number(p)).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(salt, 'base64')).toHaveLength(16);
    const key = Buffer.from(hash, 'base64');
    expect(key).toHaveLength(64);
    // Recomputed independently with node:crypto from the stated parameters.
    const derived = scryptSync(AUTHOR.password.normalize('NFKC'), Buffer.from(salt, 'base64'), 64, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * Number(n) * Number(r) });
    expect(timingSafeEqual(derived, key)).toBe(true);
    expect(rows[0].password_hash).not.toContain(AUTHOR.password);
  });

  it('made with weaker parameters (N=2^14) is replaced by an N=2^17 one at the next login through the form', async () => {
    const users = t.dataSource.getRepository(UserEntity);
    const weak = await new PasswordHasher({ N: 2 ** 14, r: 8, p: 1 }).hash(AUTHOR.password);
    await users.update({ username: AUTHOR.username }, { passwordHash: weak });
    await postLogin(t, await loginForm(t), AUTHOR).expect(303);
    const stored = (await users.findOneByOrFail({ username: AUTHOR.username })).passwordHash;
    expect(stored.split('$').slice(0, 4)).toEqual(['scrypt', String(2 ** 17), '8', '1']);
    await postLogin(t, await loginForm(t), AUTHOR).expect(303);
  });

  // Salting and tamper checks do not depend on the cost: the cheap test hasher keeps this quick.
  it('differs for the same password (fresh salt) and refuses a tampered hash', async () => {
    const [a, b] = await Promise.all([TEST_PASSWORDS.hash('same password'), TEST_PASSWORDS.hash('same password')]);
    expect(a).not.toBe(b);
    expect(await TEST_PASSWORDS.verify('same password', a)).toBe(true);
    expect(await TEST_PASSWORDS.verify('same passwore', a)).toBe(false);
    const parts = a.split('$');
    const flipped = Buffer.from(parts[5], 'base64');
    flipped[0] ^= 1;
    expect(await TEST_PASSWORDS.verify('same password', [...parts.slice(0, 5), flipped.toString('base64')].join('$'))).toBe(false);
    expect(await TEST_PASSWORDS.verify('same password', 'md5$x')).toBe(false);
    expect(await TEST_PASSWORDS.verify('same password', '')).toBe(false);
  });
});

describe('the cookies', () => {
  it('carry only a signed random id (no data), HttpOnly, SameSite, host-only, on the narrowest path, for a bounded time', async () => {
    const form = await supertest(t.server).get('/login').expect(200);
    const loginLine = setCookieLines(form).find((line) => line.startsWith('kiln.login='));
    expect(loginLine).toMatch(/;\s*path=\/login(;|$)/i);
    expect(loginLine).toMatch(/;\s*httponly/i);
    expect(loginLine).toMatch(/;\s*samesite=strict/i);
    expect(loginLine).not.toMatch(/;\s*domain=/i);
    expect(Date.parse(/expires=([^;]+)/i.exec(loginLine ?? '')?.[1] ?? '') - Date.now()).toBeLessThanOrEqual(60 * 60 * 1000 + 5000);

    const res = await postLogin(t, await loginForm(t), AUTHOR).expect(303);
    const line = setCookieLines(res).find((l) => l.startsWith('kiln.sid=')) ?? '';
    const value = /^kiln\.sid=([^;]*)/.exec(line)?.[1] ?? '';
    expect(value).toMatch(/^[A-Za-z0-9-]{16,64}\.[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(value.split('.')[0], 'base64').toString('latin1')).not.toMatch(/author|authorId|csrf/);
    expect(line).toMatch(/;\s*path=\/(;|$)/i);
    expect(line).toMatch(/;\s*httponly/i);
    expect(line).toMatch(/;\s*samesite=lax/i);
    expect(line).not.toMatch(/;\s*domain=/i);
    const expires = Date.parse(/expires=([^;]+)/i.exec(line)?.[1] ?? '');
    expect(expires - Date.now()).toBeGreaterThan(0);
    expect(expires - Date.now()).toBeLessThanOrEqual(24 * 60 * 60 * 1000 + 5000);
  });
});

/** Every POST route the app's routers declare, with `:id` filled in. */
function postRoutes(): string[] {
  const paths = new Set<string>();
  for (const middleware of t.app.middleware) {
    if (!('router' in middleware) || !(middleware.router instanceof Router)) continue;
    for (const layer of middleware.router.stack) {
      if (layer.methods.includes('POST') && typeof layer.path === 'string') paths.add(layer.path.replace(/:id\b/g, String(postId)));
    }
  }
  return Array.from(paths);
}

describe('CSRF on every POST route', () => {
  let author: supertest.Agent;
  let token: string;

  beforeAll(async () => {
    author = t.request();
    token = await login(author);
  });

  /** A POST as the signed-in author (or with a login form's cookie for /login). */
  async function attempt(path: string, headers: Record<string, string>, withToken: boolean): Promise<number> {
    if (path === '/login') {
      const form = await loginForm(t);
      const res = await supertest(t.server)
        .post('/login')
        .set('Cookie', form.cookie)
        .set(headers)
        .type('form')
        .send(withToken ? { ...AUTHOR, _csrf: form.csrf } : { ...AUTHOR });
      return res.status;
    }
    const body: Record<string, string> = { title: 'Forged', body: 'x', category: 'news', published: 'on', version: '1', markdown: 'x' };
    if (withToken) body._csrf = token;
    const json = path.startsWith('/api/');
    const res = await author.post(path).set(headers).type(json ? 'json' : 'form').send(body);
    return res.status;
  }

  it('finds the routes to check (login, logout, the editor, the preview API)', () => {
    const routes = postRoutes();
    for (const path of ['/login', '/logout', '/admin/posts', `/admin/posts/${postId}`, `/admin/posts/${postId}/delete`, '/api/v1/preview']) {
      expect(routes).toContain(path);
    }
  });

  it('refuses a missing, wrong, or cross-origin token with 403 and changes nothing', async () => {
    const refusals: [string, Record<string, string>, boolean][] = [
      ['cross-origin Origin, right token', { Origin: 'https://evil.example' }, true],
      ['cross-origin Referer, right token', { Referer: 'https://evil.example/attack.html' }, true],
      ['opaque Origin "null", right token', { Origin: 'null' }, true],
      ['same-site but other port', { Origin: 'http://kiln.test:8080' }, true],
      ['cross-origin, token in the header', { Origin: 'https://evil.example', 'X-CSRF-Token': token }, false],
      ['no token', { Origin: SITE_URL }, false],
      ['a wrong token', { Origin: SITE_URL, 'X-CSRF-Token': `${token}x` }, false],
    ];
    const posts = await t.posts.count();
    for (const path of postRoutes()) {
      for (const [what, headers, withToken] of refusals) {
        expect(await attempt(path, headers, withToken), `${path}: ${what}`).toBe(403);
      }
    }
    recordFigures('CSRF on every POST route', { routes: postRoutes(), attemptsRefused: postRoutes().length * refusals.length });
    expect(await t.posts.count()).toBe(posts);
    expect((await t.posts.get(postId))?.title).toBe('Target post');
    // Still signed in: the forged logouts did nothing.
    await author.get('/admin').expect(200);
  });

  it('lets the same requests through from the site itself (so the refusals above prove something)', async () => {
    for (const path of postRoutes().filter((p) => p !== '/logout' && !p.endsWith('/delete'))) {
      expect(await attempt(path, { Origin: SITE_URL }, true), path).not.toBe(403);
    }
  });
});
