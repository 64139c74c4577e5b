import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, SITE_URL, csrfFrom, startTestApp, type TestApp } from '../../support/app.ts';

// Every address in 127.0.0.0/8 reaches the test server, so a test can be a client at 127.0.0.2
// that is neither the configured proxy nor a loopback address the toolbar or /metrics accept.

interface Reply {
  status: number;
  text: string;
  cookies: string[];
}

/** One request to `app` from the local address `from`, on a connection of its own. */
function send(app: TestApp, from: string, method: string, path: string, options: { headers?: Record<string, string>; form?: Record<string, string> } = {}): Promise<Reply> {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  const headers: Record<string, string | number> = { ...options.headers };
  if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, localAddress: from, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, cookies: (res.headers['set-cookie'] ?? []).map((l) => l.split(';')[0]) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A login attempt from `from` with `headers` on both the form and the post; resolves the status. */
async function tryLogin(app: TestApp, from: string, headers: Record<string, string>, password = 'wrong'): Promise<number> {
  const form = await send(app, from, 'GET', '/login', { headers });
  const res = await send(app, from, 'POST', '/login', {
    headers: { ...headers, Cookie: form.cookies.join('; ') },
    form: { _csrf: csrfFrom(form.text), username: AUTHOR.username, password },
  });
  return res.status;
}

const hasToolbar = (html: string) => html.includes('id="kiln-toolbar"');

describe('TRUST_PROXY naming another address than the client', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUST_PROXY: '10.9.9.9', KILN_TOOLBAR: '1' } });
  });
  afterAll(() => t.close());

  it('keeps a client that sends a fresh X-Forwarded-For with every guess in its own throttle bucket', async () => {
    for (let i = 0; i < 10; i++) expect(await tryLogin(t, '127.0.0.1', { 'X-Forwarded-For': `1.2.3.${i}` })).toBe(401);
    expect(await tryLogin(t, '127.0.0.1', { 'X-Forwarded-For': '1.2.3.99' })).toBe(429);
    expect(await tryLogin(t, '127.0.0.1', { 'X-Forwarded-For': '127.0.0.1' })).toBe(429);
  });

  it('shows neither /metrics nor the toolbar to a client that claims to be loopback', async () => {
    const spoof = { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1', Forwarded: 'for=127.0.0.1' };
    expect((await send(t, '127.0.0.2', 'GET', '/metrics', { headers: spoof })).status).toBe(404);
    const page = await send(t, '127.0.0.2', 'GET', '/', { headers: spoof });
    expect(page.status).toBe(200);
    expect(hasToolbar(page.text)).toBe(false);
    // The real loopback client gets both, so the refusals above prove something.
    expect((await send(t, '127.0.0.1', 'GET', '/metrics')).status).toBe(200);
    expect(hasToolbar((await send(t, '127.0.0.1', 'GET', '/')).text)).toBe(true);
  });

  it('ignores a spoofed X-Forwarded-Host and -Proto in the CSRF origin check', async () => {
    const headers = { Origin: 'https://evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' };
    const form = await send(t, '127.0.0.2', 'GET', '/login');
    const res = await send(t, '127.0.0.2', 'POST', '/login', {
      headers: { ...headers, Cookie: form.cookies.join('; ') },
      form: { _csrf: csrfFrom(form.text), ...AUTHOR },
    });
    expect(res.status).toBe(403);
  });
});

describe('TRUST_PROXY=127.0.0.1 (the test client is the proxy)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUST_PROXY: '127.0.0.1', KILN_TOOLBAR: '1' } });
  });
  afterAll(() => t.close());

  it('counts login attempts per forwarded client address', async () => {
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    for (let i = 0; i < 10; i++) expect(await tryLogin(t, '127.0.0.1', from('203.0.113.7'))).toBe(401);
    expect(await tryLogin(t, '127.0.0.1', from('203.0.113.7'))).toBe(429);
    // Only the entry the proxy appended counts, not one the client prepended.
    expect(await tryLogin(t, '127.0.0.1', from('198.51.100.1, 203.0.113.7'))).toBe(429);
    expect(await tryLogin(t, '127.0.0.1', from('203.0.113.8'), AUTHOR.password)).toBe(303);
  });

  it("takes the proxy's word on who is loopback, and nobody else's", async () => {
    expect((await send(t, '127.0.0.1', 'GET', '/metrics', { headers: { 'X-Forwarded-For': '203.0.113.5' } })).status).toBe(404);
    expect(hasToolbar((await send(t, '127.0.0.1', 'GET', '/', { headers: { 'X-Forwarded-For': '203.0.113.5' } })).text)).toBe(false);
    expect((await send(t, '127.0.0.1', 'GET', '/metrics', { headers: { 'X-Forwarded-For': '127.0.0.1' } })).status).toBe(200);
    expect(hasToolbar((await send(t, '127.0.0.1', 'GET', '/', { headers: { 'X-Forwarded-For': '127.0.0.1' } })).text)).toBe(true);
    expect((await send(t, '127.0.0.2', 'GET', '/metrics', { headers: { 'X-Forwarded-For': '127.0.0.1' } })).status).toBe(404);
    expect(hasToolbar((await send(t, '127.0.0.2', 'GET', '/', { headers: { 'X-Forwarded-For': '127.0.0.1' } })).text)).toBe(false);
  });

  it('believes the proxy about the scheme and host the client used', async () => {
    const headers = { Origin: 'https://blog.example', 'X-Forwarded-Host': 'blog.example', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.20' };
    const form = await send(t, '127.0.0.1', 'GET', '/login', { headers });
    const res = await send(t, '127.0.0.1', 'POST', '/login', {
      headers: { ...headers, Cookie: form.cookies.join('; ') },
      form: { _csrf: csrfFrom(form.text), ...AUTHOR },
    });
    expect(res.status).toBe(303);
    expect(SITE_URL).not.toBe('https://blog.example');
  });
});
