import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, SITE_URL, csrfFrom, login, sessionCookie, setCookies, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;
let cacheDir: string;

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'kiln-kept-cache-'));
  // A cache on disk, so a test can look at everything it holds.
  t = await startTestApp({ env: { CACHE_TYPE: 'filesystem', CACHE_DIR: cacheDir } });
});
afterAll(async () => {
  await t.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

const PENDING = 'You were signed out before this was saved';

/** A signed-in browser on the editor of `path`, then signed out in another tab: its form and its cookies. */
async function editorThenSignedOut(path: string): Promise<{ browser: supertest.Agent; token: string; version: string }> {
  const browser = t.request();
  const csrf = await login(browser);
  const editor = await browser.get(path).expect(200);
  const version = /name="version" value="(\d+)"/.exec(editor.text)?.[1] ?? '';
  // The logout of "another tab": the same browser, so the same cookie jar.
  await browser.post('/logout').type('form').send({ _csrf: csrf }).expect(303);
  return { browser, token: csrfFrom(editor.text), version };
}

/** Signs `browser` in through the login form it is sent to, following `next` as a browser would. */
async function signInAt(browser: supertest.Agent, loginTarget: string): Promise<supertest.Response> {
  const form = await browser.get(loginTarget).expect(200);
  const next = /name="next" value="([^"]*)"/.exec(form.text)?.[1];
  return browser.post('/login').type('form').send({ _csrf: csrfFrom(form.text), ...AUTHOR, ...(next ? { next } : {}) }).expect(303);
}

/** Whether any entry of the on-disk cache holds `text` (as text or inside a stored buffer). */
function cacheHolds(text: string): boolean {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
  return files(cacheDir).some((file) => {
    const raw = readFileSync(file, 'utf8');
    if (raw.includes(text)) return true;
    return [...raw.matchAll(/"\$":"b","d":"([A-Za-z0-9+/=]*)"/g)].some((m) => Buffer.from(m[1], 'base64').toString('utf8').includes(text));
  });
}

describe('a save submitted after the session ended', () => {
  it('is kept for after the login and shown once in the editor, ready to save', async () => {
    const post = await t.addPost({ title: 'Before', body: 'Old body' });
    const { browser, token, version } = await editorThenSignedOut(`/admin/posts/${post.id}/edit`);

    const kept = await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: token, title: 'After', body: 'Body kept-4c1e', category: 'general', published: 'on', version }).expect(303);
    expect(kept.headers.location).toBe(`/login?next=/admin/posts/${post.id}/edit`);
    expect(kept.headers['cache-control']).toBe('private, no-store');
    const keptCookie = sessionCookie(kept);
    expect((await t.posts.get(post.id))?.body).toBe('Old body');

    // The login form says something waits, never what.
    const form = await browser.get(kept.headers.location).expect(200);
    expect(form.text).toContain('Your changes are kept');
    expect(form.text).not.toContain('kept-4c1e');

    const signedIn = await signInAt(browser, kept.headers.location);
    expect(signedIn.headers.location).toBe(`/admin/posts/${post.id}/edit`);
    // A new session id (the login regenerates it), and the text came along.
    expect(sessionCookie(signedIn)).not.toBe(keptCookie);
    const editor = await browser.get(`/admin/posts/${post.id}/edit`).expect(200);
    expect(editor.text).toContain(PENDING);
    expect(editor.text).toContain('Body kept-4c1e</textarea>');
    expect(editor.text).toContain('value="After"');
    expect(editor.text).toContain(`name="version" value="${version}"`);
    expect(editor.text).toContain('data-unsaved="true"');

    // Shown once: the next visit shows the stored post again.
    const again = await browser.get(`/admin/posts/${post.id}/edit`).expect(200);
    expect(again.text).not.toContain('kept-4c1e');

    await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: csrfFrom(editor.text), title: 'After', body: 'Body kept-4c1e', category: 'general', published: 'on', version }).expect(303);
    expect((await t.posts.get(post.id))?.body).toBe('Body kept-4c1e');
  });

  it('is visible to no one else: not another browser, not the pre-login cookie, not the cache', async () => {
    const post = await t.addPost({ title: 'Private' });
    const { browser, token, version } = await editorThenSignedOut(`/admin/posts/${post.id}/edit`);
    const kept = await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: token, title: 'Private', body: 'Secret kept-9b2d', category: 'general', version }).expect(303);
    const keptCookie = sessionCookie(kept);

    // The author in another browser does not get it.
    const other = t.request();
    await login(other);
    expect((await other.get(`/admin/posts/${post.id}/edit`).expect(200)).text).not.toContain('kept-9b2d');

    // After the login, the cookie that carried it leads nowhere: its session is gone.
    await signInAt(browser, kept.headers.location);
    const stale = await supertest(t.server).get('/login').set('Cookie', keptCookie).expect(200);
    expect(stale.text).not.toContain('Your changes are kept');
    await supertest(t.server).get(`/admin/posts/${post.id}/edit`).set('Cookie', keptCookie).expect(303);

    // Readers' pages were served meanwhile; none of the cache holds the text (the index does).
    await t.request().get('/').expect(200);
    await t.request().get(`/posts/${post.id}`).expect(200);
    expect(cacheHolds('Private')).toBe(true);
    expect(cacheHolds('kept-9b2d')).toBe(false);
    expect((await browser.get(`/admin/posts/${post.id}/edit`).expect(200)).text).toContain('kept-9b2d');
  });

  it('keeps a new post too, and a login without next goes to its editor', async () => {
    const { browser, token } = await editorThenSignedOut('/admin/posts/new');
    const kept = await browser.post('/admin/posts').type('form').send({ _csrf: token, title: 'Fresh', body: 'New kept-e5a0', category: 'general', published: 'on' }).expect(303);
    expect(kept.headers.location).toBe('/login?next=/admin/posts/new');
    // Signed in from the footer's plain link instead.
    const signedIn = await signInAt(browser, '/login');
    expect(signedIn.headers.location).toBe('/admin/posts/new');
    const editor = await browser.get('/admin/posts/new').expect(200);
    expect(editor.text).toContain('New kept-e5a0</textarea>');
    const created = await browser.post('/admin/posts').type('form').send({ _csrf: csrfFrom(editor.text), title: 'Fresh', body: 'New kept-e5a0', category: 'general', published: 'on' }).expect(303);
    expect((await t.posts.get(Number(String(created.headers.location).split('/').pop())))?.body).toBe('New kept-e5a0');
  });

  it('offers the text as a new post when the post was deleted meanwhile', async () => {
    const post = await t.addPost({ title: 'Doomed' });
    const { browser, token, version } = await editorThenSignedOut(`/admin/posts/${post.id}/edit`);
    const kept = await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: token, title: 'Doomed', body: 'Orphan kept-0d77', category: 'general', version }).expect(303);
    await t.posts.remove(post.id);
    await signInAt(browser, kept.headers.location);
    const editor = await browser.get(`/admin/posts/${post.id}/edit`).expect(404);
    expect(editor.text).toContain('This post was deleted while you were editing it');
    expect(editor.text).toContain('action="/admin/posts"');
    expect(editor.text).toContain('Orphan kept-0d77</textarea>');
  });

  it('is refused (403, nothing kept) when cross-origin or without the editor token', async () => {
    const post = await t.addPost({ title: 'Target' });
    const { token, version } = await editorThenSignedOut(`/admin/posts/${post.id}/edit`);
    const fields = { title: 'Forged', body: 'Forged kept-aa11', category: 'general', version };
    for (const [what, headers, body] of [
      ['cross-origin', { Origin: 'https://evil.example' }, { ...fields, _csrf: token }],
      ['cross-origin Referer', { Referer: 'https://evil.example/x' }, { ...fields, _csrf: token }],
      ['no token', { Origin: SITE_URL }, fields],
      ['not a token', { Origin: SITE_URL }, { ...fields, _csrf: 'x' }],
    ] as const) {
      const res = await supertest(t.server).post(`/admin/posts/${post.id}`).set(headers).type('form').send(body);
      expect(res.status, what).toBe(403);
      expect(setCookies(res).has('kiln.sid'), what).toBe(false);
      expect(res.text, what).toContain('href="/login"');
    }
  });

  it('counts against the login throttle: past the limit the text is shown to copy (429), not kept', async () => {
    const app = await startTestApp();
    try {
      const browser = app.request();
      const token = await login(browser);
      await browser.post('/logout').type('form').send({ _csrf: token }).expect(303);
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await app.request().post('/admin/posts').type('form').send({ _csrf: token, title: 'T', body: `Copy me kept-${i}`, category: 'general' });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.text).toContain(`Copy me kept-${i}</textarea>`);
          expect(setCookies(res).has('kiln.sid')).toBe(false);
        }
      }
      expect(statuses).toEqual([...Array(10).fill(303), 429]);
    } finally {
      await app.close();
    }
  });
});

describe('a save from a form opened before the author signed in again', () => {
  it('shows the editor again with the text and a fresh token (403); saving again works', async () => {
    const post = await t.addPost({ title: 'Reopened' });
    const browser = t.request();
    const first = await login(browser);
    const editor = await browser.get(`/admin/posts/${post.id}/edit`).expect(200);
    await browser.post('/logout').type('form').send({ _csrf: first }).expect(303);
    await login(browser);
    const res = await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: csrfFrom(editor.text), title: 'Reopened', body: 'Stale kept-31c9', category: 'general', published: 'on', version: '1' }).expect(403);
    expect(res.text).toContain('Stale kept-31c9</textarea>');
    expect(res.text).toContain('this form was opened before you last signed in');
    expect(csrfFrom(res.text)).not.toBe(csrfFrom(editor.text));
    await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: csrfFrom(res.text), title: 'Reopened', body: 'Stale kept-31c9', category: 'general', published: 'on', version: '1' }).expect(303);
    expect((await t.posts.get(post.id))?.body).toBe('Stale kept-31c9');
  });
});

describe('a save on a post deleted in another tab', () => {
  it('answers 404 with the editor offering the text as a new post, which Save creates', async () => {
    const post = await t.addPost({ title: 'Gone soon' });
    const browser = t.request();
    const csrf = await login(browser);
    await browser.get(`/admin/posts/${post.id}/edit`).expect(200);
    await t.posts.remove(post.id);
    const res = await browser.post(`/admin/posts/${post.id}`).type('form').send({ _csrf: csrf, title: 'Gone soon', body: 'Saved anyway', category: 'general', published: 'on', version: '1' }).expect(404);
    expect(res.text).toContain('Save creates it as a new post');
    expect(res.text).toContain('action="/admin/posts"');
    expect(res.text).toContain('Saved anyway</textarea>');
    expect(res.text).not.toContain('name="version"');
    const created = await browser.post('/admin/posts').type('form').send({ _csrf: csrfFrom(res.text), title: 'Gone soon', body: 'Saved anyway', category: 'general', published: 'on' }).expect(303);
    expect(created.headers.location).not.toBe(`/posts/${post.id}`);
  });
});
