import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, SITE_URL, csrfFrom, login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('a login form open in two tabs', () => {
  it('signs in from either tab; the second, submitted once signed in, goes on to where it was going', async () => {
    const browser = t.request();
    const tabA = await browser.get('/login?next=/admin/posts/new').expect(200);
    const tabB = await browser.get('/login').expect(200);
    await browser.post('/login').type('form').send({ _csrf: csrfFrom(tabA.text), ...AUTHOR, next: '/admin/posts/new' }).expect(303).expect('Location', '/admin/posts/new');
    await browser.post('/login').type('form').send({ _csrf: csrfFrom(tabB.text), ...AUTHOR }).expect(303).expect('Location', '/admin');
    expect((await browser.get('/admin').expect(200)).text).toContain('You are already signed in as author.');
  });
});

describe('a stale login form', () => {
  it('gets a fresh form with a message and the name kept (403), which then signs in', async () => {
    const browser = t.request();
    const old = await browser.get('/login?next=/admin/posts/new').expect(200);
    t.clock.advance(60 * 60 * 1000 + 1);
    const res = await browser.post('/login').type('form').send({ _csrf: csrfFrom(old.text), username: AUTHOR.username, password: AUTHOR.password, next: '/admin/posts/new' }).expect(403);
    expect(res.text).toContain('That form had expired, so you are not signed in yet.');
    expect(res.text).toContain(`value="${AUTHOR.username}"`);
    expect(res.text).toContain('name="next" value="/admin/posts/new"');
    expect(res.text).not.toMatch(/reload/i);
    await browser.post('/login').type('form').send({ _csrf: csrfFrom(res.text), ...AUTHOR, next: '/admin/posts/new' }).expect(303).expect('Location', '/admin/posts/new');
  });

  it('stays a bare 403 from another site', async () => {
    const browser = t.request();
    const form = await browser.get('/login').expect(200);
    const res = await browser.post('/login').set('Origin', 'https://evil.example').type('form').send({ _csrf: `${csrfFrom(form.text)}x`, ...AUTHOR }).expect(403);
    expect(res.text).not.toContain('name="password"');
    expect(res.text).toContain('href="/login"');
  });
});

describe('a Log out button left open after signing out elsewhere', () => {
  it('lands on / when no one is signed in any more', async () => {
    const browser = t.request();
    const csrf = await login(browser);
    await browser.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/');
    await browser.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/');
    await supertest(t.server).post('/logout').set('Origin', SITE_URL).type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/');
  });

  it('is refused with a way on when the author has signed in again since (and signs nothing out)', async () => {
    const browser = t.request();
    const old = await login(browser);
    await browser.post('/logout').type('form').send({ _csrf: old }).expect(303);
    const fresh = await login(browser);
    const res = await browser.post('/logout').type('form').send({ _csrf: old }).expect(403);
    expect(res.text).not.toMatch(/reload/i);
    expect(res.text).toContain('href="/admin"');
    // The page's own header carries a working Log out button.
    expect(csrfFrom(res.text)).toBe(fresh);
    await browser.get('/admin').expect(200);
  });
});

describe('the 403 page', () => {
  it('offers links on, never "reload"', async () => {
    const browser = t.request();
    await login(browser);
    const refused = await browser.post('/admin/posts/1/delete').type('form').send({ _csrf: 'not-the-token' }).expect(403);
    expect(refused.text).not.toMatch(/reload/i);
    expect(refused.text).toContain('href="/"');
    expect(refused.text).toContain('href="/admin"');
  });
});
