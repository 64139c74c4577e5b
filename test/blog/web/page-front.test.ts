import type { PreparedPages } from '../../../src/cache/koa/page-cache/prepared-pages.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '../../../src/blog/web/security-headers.ts';
import { SESSION_COOKIE } from '../../../src/blog/web/session.ts';
import { csrfFrom, login, startTestApp, type TestApp } from '../../support/app.ts';

function frontOf(t: TestApp): PreparedPages | undefined {
  return t.app.context.services.pages.pageCache.prepared;
}

describe('the page front (readers answered before the middleware chain)', () => {
  let t: TestApp;
  let front: PreparedPages;
  let postId: number;

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
    postId = (await t.addPost({ title: 'First title' })).id;
    const made = frontOf(t);
    if (!made) throw new Error('the front is off');
    front = made;
  });
  afterAll(() => t.close());

  it("answers a reader's repeated page with the response the chain gives, security headers included", async () => {
    await t.request().get('/').expect(200);
    const before = front.answered;
    // A session cookie that is not valid: the chain answers, as a reader's HIT.
    const chain = await t.request().get('/').set('Cookie', `${SESSION_COOKIE}=forged`).expect(200);
    expect(front.answered).toBe(before);
    const fast = await t.request().get('/').expect(200);
    expect(front.answered).toBe(before + 1);
    expect([chain.headers['x-cache'], fast.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect(fast.text).toBe(chain.text);
    for (const name of [...Object.keys(SECURITY_HEADERS), 'ETag', 'Content-Type', 'Content-Length']) {
      const lower = name.toLowerCase();
      expect([lower, fast.headers[lower]]).toEqual([lower, chain.headers[lower]]);
    }
    expect(fast.headers['set-cookie']).toBeUndefined();
  });

  it("never answers the author, and readers see the author's edit on their very next request", async () => {
    await t.request().get('/').expect(200);
    const author = t.request();
    await login(author);
    const served = front.answered;
    const mine = await author.get('/').expect(200);
    expect(mine.headers['x-cache']).toBe('BYPASS');
    expect(front.answered).toBe(served);

    const form = await author.get(`/admin/posts/${postId}/edit`).expect(200);
    const version = /name="version" value="(\d+)"/.exec(form.text)?.[1] ?? '1';
    await author
      .post(`/admin/posts/${postId}`)
      .type('form')
      .send({ _csrf: csrfFrom(form.text), title: 'Second title', body: 'Edited body', category: 'general', published: 'on', version })
      .expect(303);
    const reader = await t.request().get('/').expect(200);
    expect(reader.text).toContain('Second title');
    expect(reader.text).not.toContain('First title');
    expect(reader.headers['x-cache']).toBe('MISS');
  });

  it('is counted in /metrics like any request', async () => {
    await t.request().get('/about').expect(200);
    await t.request().get('/about').expect(200);
    const metrics = await t.request().get('/metrics').expect(200);
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\/about",status="200"\} 2\b/);
  });
});

describe('the page front with the dev toolbar on', () => {
  it('is off, so every page gets its bar', async () => {
    const t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
    try {
      expect(frontOf(t)).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
