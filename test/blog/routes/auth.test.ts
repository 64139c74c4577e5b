import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHOR,
  csrfFrom,
  login,
  loginForm,
  postLogin,
  sessionCookie,
  setCookieLines,
  setCookies,
  startTestApp,
  type TestApp,
} from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('GET /login', () => {
  it('shows the form with username, password and a hidden _csrf, and a login-only cookie', async () => {
    const res = await t.request().get('/login').expect(200);
    expect(res.text).toContain('name="username"');
    expect(res.text).toContain('name="password"');
    expect(csrfFrom(res.text)).toMatch(/^\d+\.[\w-]{43}$/);
    const [line] = setCookieLines(res).filter((l) => l.startsWith('kiln.login='));
    expect(line).toMatch(/path=\/login/);
    expect(line).toMatch(/httponly/i);
    expect(line).toMatch(/samesite=strict/i);
    expect(setCookies(res).has('kiln.sid')).toBe(false);
    expect(res.headers['cache-control']).toBe('private, no-store');
  });
});

describe('POST /login', () => {
  it('signs in with 303 to /admin and a signed, httpOnly, SameSite=Lax session cookie', async () => {
    const res = await postLogin(t, await loginForm(t), AUTHOR).expect(303).expect('Location', '/admin');
    const line = setCookieLines(res).find((l) => l.startsWith('kiln.sid='));
    expect(line).toMatch(/^kiln\.sid=[\w-]+\.[\w-]{43};/);
    expect(line).toMatch(/httponly/i);
    expect(line).toMatch(/samesite=lax/i);
    expect(line).not.toMatch(/;\s*secure/i);
    expect(setCookieLines(res).some((l) => l.startsWith('kiln.sid.sig'))).toBe(false);
  });

  it('refuses a wrong password or unknown user with 401, the form and an error', async () => {
    for (const credentials of [
      { username: AUTHOR.username, password: 'wrong password' },
      { username: 'nobody', password: AUTHOR.password },
      { username: '', password: '' },
    ]) {
      const res = await postLogin(t, await loginForm(t), credentials).expect(401);
      expect(res.text).toContain('Wrong username or password.');
      expect(res.text).toContain('name="password"');
      expect(setCookies(res).has('kiln.sid')).toBe(false);
    }
  });

  it('regenerates the session id: the pre-login session cookie no longer authenticates', async () => {
    const first = await postLogin(t, await loginForm(t), AUTHOR).expect(303);
    const oldCookie = sessionCookie(first);
    await supertest(t.server).get('/admin').set('Cookie', oldCookie).expect(200);

    // Log in again while carrying the old session cookie.
    const second = await postLogin(t, await loginForm(t), AUTHOR, oldCookie).expect(303);
    const newCookie = sessionCookie(second);
    expect(newCookie).not.toBe(oldCookie);
    await supertest(t.server).get('/admin').set('Cookie', oldCookie).expect(303).expect('Location', '/login?next=/admin');
    await supertest(t.server).get('/admin').set('Cookie', newCookie).expect(200);
  });

  it('ignores a session cookie whose signature does not match', async () => {
    const a = sessionCookie(await postLogin(t, await loginForm(t), AUTHOR).expect(303));
    const b = sessionCookie(await postLogin(t, await loginForm(t), AUTHOR).expect(303));
    const [idA, sigA] = a.slice('kiln.sid='.length).split('.');
    const [idB] = b.slice('kiln.sid='.length).split('.');
    await supertest(t.server).get('/admin').set('Cookie', a).expect(200);
    for (const forged of [`kiln.sid=${idA}`, `kiln.sid=${idA}.`, `kiln.sid=${idA}.${'A'.repeat(43)}`, `kiln.sid=${idB}.${sigA}`]) {
      const res = await supertest(t.server).get('/admin').set('Cookie', forged).expect(303);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });
});

describe('POST /logout', () => {
  it('destroys the session: a copied cookie is useless afterwards', async () => {
    const agent = t.request();
    const csrf = await login(agent);
    const copy = sessionCookie(await postLogin(t, await loginForm(t), AUTHOR).expect(303));
    // `copy` is a second, independent session; log it out through its own token.
    const page = await supertest(t.server).get('/admin').set('Cookie', copy).expect(200);
    const res = await supertest(t.server).post('/logout').set('Cookie', copy).type('form').send({ _csrf: csrfFrom(page.text) }).expect(303).expect('Location', '/');
    expect(setCookieLines(res).some((l) => /^kiln\.sid=;/.test(l) && /expires=Thu, 01 Jan 1970/i.test(l))).toBe(true);
    await supertest(t.server).get('/admin').set('Cookie', copy).expect(303).expect('Location', '/login?next=/admin');
    // The other session is untouched.
    await agent.get('/admin').expect(200);
    expect(csrf).not.toBe(csrfFrom(page.text));
  });
});

describe('login throttling', () => {
  it('answers 429 after 10 failures from one client within 15 minutes, then lets it try again', async () => {
    const app = await startTestApp();
    try {
      for (let i = 0; i < 10; i++) await postLogin(app, await loginForm(app), { username: 'author', password: `wrong ${i}` }).expect(401);
      const blocked = await postLogin(app, await loginForm(app), { username: 'author', password: 'wrong 11' }).expect(429);
      expect(blocked.text).toContain('Too many failed attempts');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Even the right password is refused while throttled.
      await postLogin(app, await loginForm(app), AUTHOR).expect(429);
      app.clock.advance(15 * 60 * 1000 + 1);
      await postLogin(app, await loginForm(app), AUTHOR).expect(303);
    } finally {
      await app.close();
    }
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const app = await startTestApp();
    try {
      for (let i = 0; i < 10; i++) {
        await postLogin(app, await loginForm(app), { username: 'author', password: 'wrong' }, '', { 'X-Forwarded-For': `10.0.0.${i}` }).expect(401);
      }
      await postLogin(app, await loginForm(app), { username: 'author', password: 'wrong' }, '', { 'X-Forwarded-For': '10.0.1.1' }).expect(429);
    } finally {
      await app.close();
    }
  });

  it('counts per forwarded client address behind a trusted proxy', async () => {
    const app = await startTestApp({ env: { TRUST_PROXY: '1' } });
    try {
      const from = (ip: string) => ({ 'X-Forwarded-For': ip });
      for (let i = 0; i < 10; i++) await postLogin(app, await loginForm(app), { username: 'author', password: 'wrong' }, '', from('203.0.113.7')).expect(401);
      await postLogin(app, await loginForm(app), { username: 'author', password: 'wrong' }, '', from('203.0.113.7')).expect(429);
      // A client cannot dodge by prepending its own address: only the proxy's entry counts.
      await postLogin(app, await loginForm(app), { username: 'author', password: 'wrong' }, '', from('198.51.100.1, 203.0.113.7')).expect(429);
      await postLogin(app, await loginForm(app), AUTHOR, '', from('203.0.113.8')).expect(303);
    } finally {
      await app.close();
    }
  });
});

describe('an https site', () => {
  it('marks the session and login cookies Secure', async () => {
    const app = await startTestApp({ env: { SITE_URL: 'https://blog.example' } });
    try {
      const form = await supertest(app.server).get('/login').expect(200);
      expect(setCookieLines(form).find((l) => l.startsWith('kiln.login='))).toMatch(/;\s*secure/i);
      const cookie = setCookieLines(form).map((l) => l.split(';')[0]).join('; ');
      const res = await postLogin(app, { csrf: csrfFrom(form.text), cookie }, AUTHOR).expect(303);
      expect(setCookieLines(res).find((l) => l.startsWith('kiln.sid='))).toMatch(/;\s*secure/i);
    } finally {
      await app.close();
    }
  });
});
