import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfFrom, login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
});
afterAll(() => t.close());

describe('request bodies', () => {
  it('answers 413 for a body over the limit (declared length)', async () => {
    const res = await t.request().post('/login').type('form').send({ username: 'a', password: 'x'.repeat(4000) }).expect(413);
    expect(res.text).toContain('larger than 2048 bytes');
  });

  it('answers 413 for a chunked body that grows over the limit, without reading it all', async () => {
    const { port } = t.server.address() as AddressInfo;
    const status = await new Promise<number>((resolve, reject) => {
      // No Content-Length: Node sends the body chunked, so only counting the bytes can catch it.
      const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/login', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(`password=${'y'.repeat(1500)}`);
      req.write('y'.repeat(1500));
      req.end('y'.repeat(1500));
    });
    expect(status).toBe(413);
  });

  it('answers 413 to the author too, before the post is touched', async () => {
    const agent = t.request();
    const csrf = await login(agent);
    await agent.post('/admin/posts').type('form').send({ _csrf: csrf, title: 't', category: 'c', body: 'z'.repeat(3000) }).expect(413);
    expect(await t.posts.count()).toBe(0);
  });

  it('answers 400 for malformed JSON: an HTML page, or JSON under /api', async () => {
    const page = await t.request().post('/login').set('Content-Type', 'application/json').send('{"username": ').expect(400);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('not valid JSON');
    const api = await t.request().post('/api/v1/posts').set('Content-Type', 'application/json').send('{oops').expect(400);
    expect(api.body).toEqual({ error: { status: 400, message: 'The request body is not valid JSON.' } });
  });

  it('answers 415 for a body of another type', async () => {
    await t.request().post('/login').set('Content-Type', 'text/plain').send('hello').expect(415);
  });

  it('accepts a JSON login body like a form', async () => {
    const agent = t.request();
    const page = await agent.get('/login').expect(200);
    await agent.post('/login').type('json').send({ _csrf: csrfFrom(page.text), username: 'author', password: 'wrong-but-parsed' }).expect(401);
  });
});
