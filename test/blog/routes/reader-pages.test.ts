import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, sessionCookie, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
  await t.addPost({ title: 'Public' });
});
afterAll(() => t.close());

/** A browser whose session holds a save it submitted while signed out (a real, non-author session). */
async function browserWithPendingSave(): Promise<string> {
  const browser = t.request();
  const csrf = await login(browser);
  const editor = await browser.get('/admin/posts/new').expect(200);
  const token = /name="_csrf" value="([^"]*)"/.exec(editor.text)?.[1] ?? '';
  await browser.post('/logout').type('form').send({ _csrf: csrf }).expect(303);
  const kept = await browser.post('/admin/posts').type('form').send({ _csrf: token, title: 'Pending', body: 'pending-8e1f', category: 'general' }).expect(303);
  return sessionCookie(kept);
}

describe('public pages for anonymous visitors', () => {
  it('are byte-identical with no cookie, a stale session cookie, or a signed-out session holding a pending save', async () => {
    const pending = await browserWithPendingSave();
    const visitors: Record<string, string | undefined> = {
      'no cookie': undefined,
      'stale session cookie': 'kiln.sid=0123456789abcdef0123.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'pending save': pending,
    };
    for (const path of ['/', '/posts/1', '/about']) {
      const bodies = new Map<string, string>();
      for (const [who, cookie] of Object.entries(visitors)) {
        const req = supertest(t.server).get(path);
        const res = await (cookie === undefined ? req : req.set('Cookie', cookie)).expect(200);
        expect(res.headers['set-cookie'], `${path} as ${who}`).toBeUndefined();
        bodies.set(who, res.text);
      }
      const [first, ...rest] = [...bodies.values()];
      for (const body of rest) expect(body).toBe(first);
      // The same plain Log in link for everyone, and nothing of the author's.
      expect(first).toContain('<a href="/login">Log in</a>');
      expect(first).not.toContain('pending-8e1f');
      expect(first).not.toContain('class="flash"');
    }
  });

  it('are still answered early, headers and all, without a cookie', async () => {
    const miss = await t.request().get('/about').expect(200);
    const hit = await t.request().get('/about').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['content-security-policy']).toBe(miss.headers['content-security-policy']);
  });
});
