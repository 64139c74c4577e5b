import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_THROTTLE } from '../../../src/app.ts';
import { AUTHOR, csrfFrom, loginForm, loginRaw, postLogin, sessionCookie, startTestApp, type TestApp } from '../../support/app.ts';
import { SHARED_REDIS_URL, requireRedis } from '../../support/services.ts';

const redisUp = await requireRedis();

const NEW_PASSWORD = 'violet lantern over 9 hills';

/** Posts the password form with a raw session cookie. */
function changePassword(t: TestApp, session: { cookie: string; csrf: string }, fields: Record<string, string>): supertest.Test {
  return supertest(t.server)
    .post('/admin/account/password')
    .set('Cookie', session.cookie)
    .type('form')
    .send({ _csrf: session.csrf, ...fields });
}

/** The status of the author's list for a session cookie: 200 while it is live, 303 to /login once it ended. */
async function listStatus(t: TestApp, cookie: string): Promise<number> {
  return (await supertest(t.server).get('/admin').set('Cookie', cookie)).status;
}

describe('the account page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('sends an anonymous visitor to the login form, for the page and the change', async () => {
    await t.request().get('/admin/account').expect(303).expect('Location', '/login?next=/admin/account');
    await t.request().post('/admin/account/password').type('form').send({ current: AUTHOR.password }).expect(303).expect('Location', '/login');
  });

  it('shows the form: current, new and confirmation, with the rule and autocomplete hints', async () => {
    const session = await loginRaw(t);
    const page = await supertest(t.server).get('/admin/account').set('Cookie', session.cookie).expect(200);
    expect(page.text).toContain('action="/admin/account/password"');
    expect(page.text).toMatch(/name="current" type="password" autocomplete="current-password"/);
    expect(page.text).toMatch(/name="password" type="password" autocomplete="new-password"/);
    expect(page.text).toMatch(/name="confirm" type="password" autocomplete="new-password"/);
    expect(page.text).toContain('At least 12 characters');
    expect(csrfFrom(page.text)).toBe(session.csrf);
    const list = await supertest(t.server).get('/admin').set('Cookie', session.cookie).expect(200);
    expect(list.text).toContain('href="/admin/account"');
  });

  it('refuses a change without the session CSRF token (403)', async () => {
    const session = await loginRaw(t);
    await changePassword(t, { ...session, csrf: 'forged' }, { current: AUTHOR.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(403);
    expect(await listStatus(t, session.cookie)).toBe(200);
  });

  it('refuses a wrong current password, a weak new one and a confirmation that differs (400), changing nothing', async () => {
    const session = await loginRaw(t);
    const wrong = await changePassword(t, session, { current: 'not the password', password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(400);
    expect(wrong.text).toContain('That is not your current password.');
    const weak = await changePassword(t, session, { current: AUTHOR.password, password: 'short1', confirm: 'short1' }).expect(400);
    expect(weak.text).toContain('at least 12 characters');
    const common = await changePassword(t, session, { current: AUTHOR.password, password: 'Password2024!', confirm: 'Password2024!' }).expect(400);
    expect(common.text).toContain('most common passwords');
    const named = await changePassword(t, session, { current: AUTHOR.password, password: 'author 12345678', confirm: 'author 12345678' }).expect(400);
    expect(named.text).toContain('must not contain your username');
    const differ = await changePassword(t, session, { current: AUTHOR.password, password: NEW_PASSWORD, confirm: `${NEW_PASSWORD}!` }).expect(400);
    expect(differ.text).toContain('The two new passwords differ.');
    for (const page of [wrong, weak, differ]) expect(page.text).not.toContain(NEW_PASSWORD);
    // Nothing changed: the old password still signs in, and the session still works.
    await postLogin(t, await loginForm(t), AUTHOR).expect(303);
    expect(await listStatus(t, session.cookie)).toBe(200);
  });
});

describe('a successful password change', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('ends every other session of the author, carries this one over under a new id, and swaps the passwords', async () => {
    const mine = await loginRaw(t);
    const other = await loginRaw(t);
    const third = await loginRaw(t);
    expect([await listStatus(t, other.cookie), await listStatus(t, third.cookie)]).toEqual([200, 200]);

    const res = await changePassword(t, mine, { current: AUTHOR.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(303);
    expect(res.headers.location).toBe('/admin/account?changed=1');
    const renewed = sessionCookie(res);
    expect(renewed).not.toBe(mine.cookie);

    // This browser goes on, under the new id; the old id (a copy of the cookie) and every other session are gone.
    const page = await supertest(t.server).get('/admin/account?changed=1').set('Cookie', renewed).expect(200);
    expect(page.text).toContain('Your password was changed');
    expect(csrfFrom(page.text)).not.toBe(mine.csrf);
    expect(await listStatus(t, mine.cookie)).toBe(303);
    expect(await listStatus(t, other.cookie)).toBe(303);
    expect(await listStatus(t, third.cookie)).toBe(303);

    await postLogin(t, await loginForm(t), AUTHOR).expect(401);
    await postLogin(t, await loginForm(t), { username: AUTHOR.username, password: NEW_PASSWORD }).expect(303);
  });
});

describe('wrong current passwords and the login throttle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('count as login attempts of the client: past the limit both the change and the login answer 429', async () => {
    const session = await loginRaw(t);
    // Refusals that never look at the current password are not counted.
    for (let i = 0; i < 15; i++) await changePassword(t, session, { current: 'x', password: 'weak', confirm: 'weak' }).expect(400);
    for (let i = 0; i < LOGIN_THROTTLE.maxAttempts; i++) {
      await changePassword(t, session, { current: `wrong ${i}`, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(400);
    }
    const refused = await changePassword(t, session, { current: AUTHOR.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.text).toContain('Too many wrong passwords');
    await postLogin(t, await loginForm(t), AUTHOR).expect(429);

    // Once the window has passed, the right password changes it (and the count starts afresh).
    t.clock.advance(LOGIN_THROTTLE.windowMs + 1000);
    await changePassword(t, session, { current: AUTHOR.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(303);
  });
});

describe.skipIf(!redisUp)('a password change with SESSION_STORE=redis', () => {
  const prefix = `kiln-test:account:${randomBytes(6).toString('hex')}:`;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { SESSION_STORE: 'redis', SESSION_REDIS_URL: SHARED_REDIS_URL, SESSION_REDIS_PREFIX: prefix } });
  });
  afterAll(async () => {
    await t.close();
    const redis = new Redis(SHARED_REDIS_URL);
    const left = await redis.keys(`${prefix}*`);
    if (left.length > 0) await redis.del(...left);
    await redis.quit();
  });

  it('ends the other sessions stored in Redis too', async () => {
    const mine = await loginRaw(t);
    const other = await loginRaw(t);
    const res = await changePassword(t, mine, { current: AUTHOR.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD }).expect(303);
    expect(await listStatus(t, sessionCookie(res))).toBe(200);
    expect(await listStatus(t, other.cookie)).toBe(303);
    expect(await listStatus(t, mine.cookie)).toBe(303);
  });
});
