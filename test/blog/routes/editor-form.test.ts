import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfFrom, login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;
let author: supertest.Agent;
let csrf: string;

beforeAll(async () => {
  t = await startTestApp();
  author = t.request();
  csrf = await login(author);
  await t.addPost({ category: 'web-dev' });
  await t.addPost({ category: 'notes', published: false });
});
afterAll(() => t.close());

/** The opening tag of the element with `id` in `html`. */
function tagOf(html: string, id: string): string {
  const match = new RegExp(`<[a-z]+ [^>]*id="${id}"[^>]*>`).exec(html);
  if (!match) throw new Error(`no element #${id}`);
  return match[0];
}

describe('the editor form', () => {
  it('shows the category rule beside the field, checks it as typed (pattern) and offers the categories in use', async () => {
    const page = await author.get('/admin/posts/new').expect(200);
    const category = tagOf(page.text, 'category');
    expect(category).toContain('pattern="[a-z0-9]+(-[a-z0-9]+)*"');
    expect(category).toContain('list="category-names"');
    expect(category).toContain('aria-describedby="category-hint category-error"');
    expect(page.text).toContain('<p class="hint" id="category-hint">Lowercase letters, digits and single dashes, e.g. web-dev.</p>');
    // Drafts' categories too: the author's own.
    expect(page.text).toMatch(/<datalist id="category-names">\s*<option value="notes"><\/option><option value="web-dev"><\/option>\s*<\/datalist>/);
  });

  it('marks invalid fields (aria-invalid, aria-describedby to the error) and focuses the first', async () => {
    const res = await author.post('/admin/posts').type('form').send({ _csrf: csrf, title: '', body: 'x', category: 'Not Valid!' }).expect(400);
    const title = tagOf(res.text, 'title');
    expect(title).toContain('aria-invalid="true"');
    expect(title).toContain('aria-describedby="title-error"');
    expect(title).toContain('autofocus');
    expect(res.text).toContain('<p class="field-error" id="title-error">A title is required.</p>');
    const category = tagOf(res.text, 'category');
    expect(category).toContain('aria-invalid="true"');
    expect(category).not.toContain('autofocus');
    expect(tagOf(res.text, 'category-error')).not.toContain('hidden');
    expect(tagOf(res.text, 'body')).not.toContain('aria-invalid');
    // A fresh form marks nothing.
    const fresh = await author.get('/admin/posts/new').expect(200);
    expect(fresh.text).not.toContain('aria-invalid');
    expect(tagOf(fresh.text, 'category-error')).toContain('hidden');
  });

  it('renders the preview of its text as readers will see it, and loads the editor script from static/', async () => {
    const post = await t.addPost({ title: 'Shown', body: 'Hello **preview**' });
    const page = await author.get(`/admin/posts/${post.id}/edit`).expect(200);
    expect(page.text).toMatch(/<div class="post-body" id="preview-body">\s*<p>Hello <strong>preview<\/strong><\/p>/);
    expect(page.text).toContain('<h1 id="preview-title">Shown</h1>');
    expect(page.text).toMatch(/<script src="\/static\/js\/editor\.[0-9a-f]{8}\.js" defer><\/script>/);
    expect(page.text).toContain(`data-draft-key="post:${post.id}"`);
    const script = await t.request().get('/static/js/editor.js').expect(200).expect('Content-Type', /javascript/);
    expect(script.text).toContain('/api/v1/preview');
  });

  it('links to deleting the post, which asks first (GET and a POST without confirm change nothing)', async () => {
    const post = await t.addPost({ title: 'Maybe' });
    const editor = await author.get(`/admin/posts/${post.id}/edit`).expect(200);
    expect(editor.text).toContain(`href="/admin/posts/${post.id}/delete"`);
    const question = await author.get(`/admin/posts/${post.id}/delete`).expect(200);
    expect(question.text).toContain('Delete “Maybe”?');
    expect(question.text).toContain(`href="/admin/posts/${post.id}/edit"`);
    await author.post(`/admin/posts/${post.id}/delete`).type('form').send({ _csrf: csrf }).expect(200);
    await author.post(`/admin/posts/${post.id}/delete`).type('form').send({ _csrf: csrf, confirm: 'no' }).expect(200);
    expect(await t.posts.get(post.id)).not.toBeNull();
    await author.post(`/admin/posts/${post.id}/delete`).type('form').send({ _csrf: csrfFrom(question.text), confirm: 'yes' }).expect(303);
    expect(await t.posts.get(post.id)).toBeNull();
    await author.get(`/admin/posts/${post.id}/delete`).expect(404);
  });
});
