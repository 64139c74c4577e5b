import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfFrom, login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const postForm = (csrf: string, over: Record<string, string> = {}) => ({
  _csrf: csrf,
  title: 'My first post',
  body: 'Hello **world**',
  category: 'news',
  published: 'on',
  ...over,
});

describe('author routes for an anonymous reader', () => {
  it('redirect every GET and POST to /login with 303, a GET asking to come back', async () => {
    for (const path of ['/admin', '/admin/posts/new', '/admin/posts/1/edit', '/admin/posts/1/delete']) {
      await t.request().get(path).expect(303).expect('Location', `/login?next=${path}`);
    }
    await t.request().get('/admin?x=1&y=2').expect(303).expect('Location', '/login?next=/admin%3Fx%3D1%26y%3D2');
    // A trailing slash is another spelling of the path, answered 404 before any route or guard.
    await t.request().get('/admin/').expect(404);
    await t.request().post('/admin/posts/1/delete').type('form').send({ title: 'x' }).expect(303).expect('Location', '/login');
    // A save without the editor's token was never the author's: refused (routes/kept-saves.ts).
    for (const path of ['/admin/posts', '/admin/posts/1']) {
      await t.request().post(path).type('form').send({ title: 'x' }).expect(403);
    }
    expect(await t.posts.count()).toBe(0);
  });
});

describe('the author flow', () => {
  it('logs in, creates, edits, drafts, deletes and logs out', async () => {
    const agent = t.request();
    const csrf = await login(agent);

    // Create (published) → 303 to the post, readable by anyone.
    const created = await agent.post('/admin/posts').type('form').send(postForm(csrf)).expect(303);
    const location = created.headers.location;
    expect(location).toMatch(/^\/posts\/\d+$/);
    const id = Number(location.split('/')[2]);
    const page = await t.request().get(location).expect(200);
    expect(page.text).toContain('Hello <strong>world</strong>');

    // The admin list shows it; the editor carries its version.
    const list = await agent.get('/admin').expect(200);
    expect(list.text).toContain('My first post');
    const editor = await agent.get(`/admin/posts/${id}/edit`).expect(200);
    expect(editor.text).toContain('name="version" value="1"');
    expect(editor.text).toContain('value="My first post"');

    // Edit into a draft → gone for readers, visible and marked for the author.
    await agent
      .post(`/admin/posts/${id}`)
      .type('form')
      .send({ ...postForm(csrf, { title: 'Renamed post', published: '' }), version: '1' })
      .expect(303)
      .expect('Location', `/posts/${id}`);
    await t.request().get(`/posts/${id}`).expect(404);
    expect((await t.request().get('/').expect(200)).text).not.toContain('Renamed post');
    const own = await agent.get(`/posts/${id}`).expect(200);
    expect(own.text).toContain('Renamed post');
    expect(own.text).toContain('Draft: only you can see this post.');
    expect((await agent.get('/admin').expect(200)).text).toContain('Draft');

    // Publish again (version 2 now).
    await agent.post(`/admin/posts/${id}`).type('form').send({ ...postForm(csrf, { title: 'Renamed post' }), version: '2' }).expect(303);
    expect((await t.request().get(`/posts/${id}`).expect(200)).text).toContain('Renamed post');

    // Delete asks first (the list's one-click button lands on the question), then 303 /admin, then gone.
    const question = await agent.post(`/admin/posts/${id}/delete`).type('form').send({ _csrf: csrf }).expect(200);
    expect(question.text).toContain('Delete “Renamed post”?');
    expect(question.text).toContain('name="confirm" value="yes"');
    await t.request().get(`/posts/${id}`).expect(200);
    await agent.post(`/admin/posts/${id}/delete`).type('form').send({ _csrf: csrf, confirm: 'yes' }).expect(303).expect('Location', '/admin');
    await t.request().get(`/posts/${id}`).expect(404);
    await agent.post(`/admin/posts/${id}/delete`).type('form').send({ _csrf: csrf, confirm: 'yes' }).expect(404);

    // Log out → 303 /, and the author area is closed again.
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/');
    await agent.get('/admin').expect(303).expect('Location', '/login?next=/admin');
  });
});

describe('POST /admin/posts with invalid fields', () => {
  it('re-renders the form with messages and the submitted values (400)', async () => {
    const agent = t.request();
    const csrf = await login(agent);
    const before = await t.posts.count();
    const res = await agent
      .post('/admin/posts')
      .type('form')
      .send(postForm(csrf, { title: '', category: 'Not A Slug', body: 'kept <b>text</b>' }))
      .expect(400)
      .expect('Content-Type', /text\/html/);
    expect(res.text).toContain('A title is required.');
    expect(res.text).toContain('Lowercase letters, digits and single dashes only');
    expect(res.text).toContain('kept &lt;b&gt;text&lt;/b&gt;');
    expect(csrfFrom(res.text)).toBe(csrf);
    expect(await t.posts.count()).toBe(before);
  });
});

describe('POST /admin/posts/:id', () => {
  it('answers 404 for unknown and non-numeric ids', async () => {
    const agent = t.request();
    const csrf = await login(agent);
    await agent.get('/admin/posts/abc/edit').expect(404);
    await agent.get('/admin/posts/424242/edit').expect(404);
    await agent.post('/admin/posts/abc').type('form').send({ ...postForm(csrf), version: '1' }).expect(404);
    await agent.post('/admin/posts/424242').type('form').send({ ...postForm(csrf), version: '1' }).expect(404);
  });

  it('refuses a stale version with 409, keeping the text and showing the saved version', async () => {
    const post = await t.addPost({ title: 'Shared post', body: 'original' });
    const alice = t.request();
    const bob = t.request();
    const aliceCsrf = await login(alice);
    const bobCsrf = await login(bob);
    await alice.post(`/admin/posts/${post.id}`).type('form').send({ ...postForm(aliceCsrf, { title: 'Alice wins', body: 'from alice' }), version: '1' }).expect(303);
    const conflict = await bob
      .post(`/admin/posts/${post.id}`)
      .type('form')
      .send({ ...postForm(bobCsrf, { title: 'Bob too', body: 'from bob' }), version: '1' })
      .expect(409);
    expect(conflict.text).toContain('changed elsewhere while you were editing');
    expect(conflict.text).toContain('from bob');
    expect(conflict.text).toContain('from alice');
    expect(conflict.text).toContain('name="version" value="2"');
    expect((await t.posts.get(post.id))?.title).toBe('Alice wins');
  });

  it('re-renders with 400 when the version field is missing or malformed', async () => {
    const post = await t.addPost({ title: 'Versioned' });
    const agent = t.request();
    const csrf = await login(agent);
    for (const version of [undefined, 'x', '0']) {
      const form: Record<string, string> = { ...postForm(csrf, { title: 'Changed' }) };
      if (version !== undefined) form.version = version;
      const res = await agent.post(`/admin/posts/${post.id}`).type('form').send(form).expect(400);
      expect(res.text).toContain('lost track of which version');
    }
    expect((await t.posts.get(post.id))?.title).toBe('Versioned');
  });

  it('re-renders with 400 and messages for invalid fields', async () => {
    const post = await t.addPost({ title: 'Valid' });
    const agent = t.request();
    const csrf = await login(agent);
    const res = await agent.post(`/admin/posts/${post.id}`).type('form').send({ ...postForm(csrf, { body: '   ' }), version: '1' }).expect(400);
    expect(res.text).toContain('The post needs a body.');
  });
});
