import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  await t.addPost({ title: 'Doomed' });
  // Break the database under the running app so every query fails.
  await t.dataSource.query('DROP TABLE post');
});
afterAll(() => t.close());

describe('a server error', () => {
  it('is a generic HTML 500 page without a stack trace, and is logged', async () => {
    const before = t.logger.lines.length;
    const res = await t.request().get('/').expect(500).expect('Content-Type', /text\/html/);
    expect(res.text).toContain('Something went wrong on our side.');
    expect(res.text).not.toMatch(/SQLITE|no such table|at .*\.ts:\d+/i);
    const logged = t.logger.lines.slice(before).filter((l) => l.level === 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0].msg).toContain('GET / failed with 500');
    expect(logged[0].msg).toMatch(/no such table|relation .* does not exist/i);
  });

  it('is a generic JSON error under /api', async () => {
    const res = await t.request().get('/api/v1/posts').expect(500).expect('Content-Type', /json/);
    expect(res.body).toEqual({ error: { status: 500, message: 'Something went wrong on our side. Please try again later.' } });
  });

  it('does not log client errors', async () => {
    const before = t.logger.lines.length;
    await t.request().get('/posts/abc').expect(404);
    await t.request().post('/about').type('form').send({}).expect(403);
    expect(t.logger.lines.length).toBe(before);
  });
});
