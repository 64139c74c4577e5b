import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, SITE_URL, csrfFrom, login, setCookieLines, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;
let agent: supertest.Agent;
let csrf: string;
let postId: number;

beforeAll(async () => {
  t = await startTestApp();
  agent = t.request();
  csrf = await login(agent);
  postId = (await t.addPost({ title: 'Keep me' })).id;
});
afterAll(() => t.close());

const newPost = { title: 'Injected', body: 'x', category: 'news', published: 'on' };

describe('CSRF on author POSTs', () => {
  it('refuses a missing token with 403', async () => {
    await agent.post('/admin/posts').type('form').send(newPost).expect(403);
    await agent.post(`/admin/posts/${postId}/delete`).type('form').send({}).expect(403);
    await agent.post('/logout').type('form').send({}).expect(403);
    expect(await t.posts.count()).toBe(1);
  });

  it('refuses a wrong token with 403', async () => {
    await agent.post('/admin/posts').type('form').send({ ...newPost, _csrf: `${csrf}x` }).expect(403);
    await agent.post('/admin/posts').type('form').send({ ...newPost, _csrf: '' }).expect(403);
    await agent.post(`/admin/posts/${postId}/delete`).set('X-CSRF-Token', 'nope').type('form').send({}).expect(403);
    // Another session's token does not work in this one.
    const other = t.request();
    const otherCsrf = await login(other);
    await agent.post('/admin/posts').type('form').send({ ...newPost, _csrf: otherCsrf }).expect(403);
    // Nor does a login-form token.
    const form = await agent.get('/login').expect(200);
    await agent.post('/admin/posts').type('form').send({ ...newPost, _csrf: csrfFrom(form.text) }).expect(403);
    expect(await t.posts.count()).toBe(1);
  });

  it('refuses a cross-origin Origin or Referer with 403 even with the right token', async () => {
    await agent.post('/admin/posts').set('Origin', 'https://evil.example').type('form').send({ ...newPost, _csrf: csrf }).expect(403);
    await agent.post('/admin/posts').set('Origin', 'null').type('form').send({ ...newPost, _csrf: csrf }).expect(403);
    await agent.post('/admin/posts').set('Referer', 'https://evil.example/page').type('form').send({ ...newPost, _csrf: csrf }).expect(403);
    expect(await t.posts.count()).toBe(1);
  });

  it('accepts the session token from the site origin or the origin the request was sent to', async () => {
    await agent.post('/admin/posts').set('Origin', SITE_URL).type('form').send({ ...newPost, _csrf: csrf }).expect(303);
    const self = `http://127.0.0.1:${(t.server.address() as { port: number }).port}`;
    await agent.post('/admin/posts').set('Origin', self).type('form').send({ ...newPost, _csrf: csrf }).expect(303);
    await agent.post('/admin/posts').set('X-CSRF-Token', csrf).type('form').send(newPost).expect(303);
    expect(await t.posts.count()).toBe(4);
  });

  it('answers a 403 as an HTML page (or JSON under /api)', async () => {
    const page = await agent.post('/admin/posts').type('form').send(newPost).expect(403).expect('Content-Type', /text\/html/);
    expect(page.text).toContain('did not come from this site');
    const api = await agent.post('/api/v1/posts').type('json').send({}).expect(403).expect('Content-Type', /json/);
    expect(api.body.error.status).toBe(403);
  });
});

describe('CSRF on POST /login', () => {
  async function form(): Promise<{ csrf: string; cookie: string }> {
    const res = await supertest(t.server).get('/login').expect(200);
    return { csrf: csrfFrom(res.text), cookie: setCookieLines(res).map((l) => l.split(';')[0]).join('; ') };
  }
  const post = (cookie: string) => supertest(t.server).post('/login').set('Cookie', cookie).type('form');

  it('refuses a missing token, a missing cookie or a token from another form', async () => {
    const a = await form();
    const b = await form();
    await post(a.cookie).send(AUTHOR).expect(403);
    await supertest(t.server).post('/login').type('form').send({ ...AUTHOR, _csrf: a.csrf }).expect(403);
    await post(a.cookie).send({ ...AUTHOR, _csrf: b.csrf }).expect(403);
    await post(a.cookie).send({ ...AUTHOR, _csrf: `${a.csrf.split('.')[0]}.${'A'.repeat(43)}` }).expect(403);
    await post(a.cookie).send({ ...AUTHOR, _csrf: a.csrf }).expect(303);
  });

  it('refuses a cross-origin login even with a valid token', async () => {
    const a = await form();
    await post(a.cookie).set('Origin', 'https://evil.example').send({ ...AUTHOR, _csrf: a.csrf }).expect(403);
    await post(a.cookie).set('Origin', SITE_URL).send({ ...AUTHOR, _csrf: a.csrf }).expect(303);
  });

  it('refuses an expired token', async () => {
    const a = await form();
    t.clock.advance(60 * 60 * 1000 + 1);
    await post(a.cookie).send({ ...AUTHOR, _csrf: a.csrf }).expect(403);
  });
});
