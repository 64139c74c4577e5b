import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AUTHOR, login, setCookies, SITE_URL, startTestApp, type TestApp } from '../../support/app.ts';
import { requireRedis, SHARED_REDIS_URL } from '../../support/services.ts';

// The toolbar's tabs through the real blog: what each shows, what its JSON says, and that no
// secret of the configuration ever reaches a toolbar answer, whichever route or tab.

/** Distinctive secret values, each of which must never appear in any toolbar answer. */
const SECRETS = {
  SESSION_SECRET: 'kiln-secret-session-9f8e7d6c5b4a3210',
  METRICS_TOKEN: 'kiln-secret-metrics-token-4455667788',
  CACHE_REDIS_URL: 'redis://kilnuser:kiln-secret-cache-redis-6655@127.0.0.1:6390/0',
  SESSION_REDIS_URL: 'redis://sessuser:kiln-secret-session-redis-7788@127.0.0.1:6391',
  HTTP_CACHE_PURGE_URLS: 'http://purger:kiln-secret-purge-5544@127.0.0.1:9/',
};
const NEEDLES = ['kiln-secret-', 'kilnuser', 'sessuser', 'purger:', AUTHOR.password];

const TOKEN_HEADER = 'X-Kiln-Toolbar-Token';

/** The bar's token from a page, as the script reads it. */
function tokenOf(html: string): string {
  return /data-clear-token="([^"]+)"/.exec(html)?.[1] ?? '';
}

describe('the dev toolbar\'s tabs in the blog', () => {
  let t: TestApp;
  let author: supertest.Agent;
  let token: string;
  const answers: string[] = [];

  /** A GET as the author whose answer joins the ones searched for secrets. */
  async function get(path: string, status = 200): Promise<supertest.Response> {
    const res = await author.get(path).expect(status);
    answers.push(res.text, JSON.stringify(res.headers));
    return res;
  }

  /** A toolbar POST as the author (same Origin, the bar's token). */
  async function post(path: string): Promise<supertest.Response> {
    const res = await author.post(path).set('Origin', SITE_URL).set(TOKEN_HEADER, token);
    answers.push(res.text, JSON.stringify(res.headers));
    return res;
  }

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1', ...SECRETS } });
    await t.addPost({ title: 'Tagged post', category: 'caching' });
    author = t.request();
    await login(author);
    token = tokenOf((await get('/about')).text);
  });
  afterAll(() => t?.close());

  it('shows the request\'s and the response\'s headers, with cookies masked', async () => {
    const page = await get('/about');
    const id = String(page.headers['x-kiln-toolbar-id']);
    const data = (await get(`/_toolbar/${id}`)).body;
    const request = new Map<string, string>(data.request.headers.request);
    expect(request.get('host')).toBeDefined();
    expect(request.get('cookie')).toMatch(/=••••••/);
    const response = new Map<string, string>(data.request.headers.response);
    expect(response.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('id="kiln-tb-panel-headers"');
    expect(response.get('x-cache')).toBe('BYPASS');
    expect(page.text).toMatch(/<th scope="row"><code>x-cache<\/code><\/th><td><code>BYPASS<\/code>/);
  });

  it('shows the effective settings with every secret masked, and the versions of Node, Kiln, its libraries and the database', async () => {
    const page = await get('/about');
    const data = (await get(`/_toolbar/${String(page.headers['x-kiln-toolbar-id'])}`)).body;
    expect(data.settings.sessionSecret).toBe('••••••');
    expect(data.settings.metricsToken).toBe('••••••');
    expect(data.settings.authorPassword).toBe('••••••');
    expect(data.settings.session.redisUrl).toBe('redis://••••••:••••••@127.0.0.1:6391');
    expect(data.settings.httpCachePurgeUrls).toEqual(['http://••••••:••••••@127.0.0.1:9/']);
    expect(data.settings.cache.type).toBe('memory');
    expect(Object.keys(data.versions)).toEqual(expect.arrayContaining(['Node', 'Kiln', 'Koa', 'Nunjucks', 'TypeORM', 'ioredis']));
    expect(data.versions.Node).toBe(process.versions.node);
    expect(data.versions.Koa).toBe('3.3.0');
    const database = t.dataSource.options.type === 'postgres' ? 'PostgreSQL server' : 'SQLite';
    expect(data.versions[database]).toMatch(/^\d+\.\d+/);
    expect(page.text).toContain('id="kiln-tb-panel-versions"');
  });

  it('lists the route table with methods, paths and names, marking the matched route', async () => {
    const page = await get('/about');
    const data = (await get(`/_toolbar/${String(page.headers['x-kiln-toolbar-id'])}`)).body;
    const routes: Array<{ methods: string[]; path: string; name?: string }> = data.routes;
    expect(routes).toContainEqual(expect.objectContaining({ methods: ['GET'], path: '/about' }));
    expect(routes).toContainEqual(expect.objectContaining({ methods: ['POST'], path: '/api/v1/preview' }));
    expect(routes.some((route) => route.name !== undefined)).toBe(true);
    expect(page.text).toMatch(/<tr class="kiln-tb-current" aria-current="true"><td data-label="Methods">GET<\/td><td data-label="Path"><code>\/about<\/code>/);
  });

  it('never sends a secret value, on any toolbar route or tab', async () => {
    await get('/');
    await get('/?utm=1');
    await get('/posts/1');
    await get('/admin');
    const list = (await get('/_toolbar')).body.requests as Array<{ id: string }>;
    expect(list.length).toBeGreaterThan(3);
    for (const { id } of list) {
      const detail = (await get(`/_toolbar/${id}`)).body;
      for (let i = 0; i < detail.request.cache.length; i += 1) await author.get(`/_toolbar/${id}/cache/${i}`).then((res) => answers.push(res.text));
      for (let i = 0; i < detail.request.queries.length; i += 1) await post(`/_toolbar/${id}/sql/${i}/explain`);
    }
    await post('/_toolbar/cache/clear');
    // The history of the actions, then every bar once more.
    await get('/_toolbar');
    await get('/about');
    const sessionCookie = [...setCookies(await author.get('/login')).values()];
    const all = answers.join('\n');
    expect(all).toContain('••••••');
    for (const needle of [...NEEDLES, ...Object.values(SECRETS)]) expect(all).not.toContain(needle);
    for (const value of sessionCookie) if (value.length > 10) expect(all).not.toContain(value);
  });
});

describe('the dev toolbar\'s key actions, EXPLAIN and History in the blog', () => {
  let t: TestApp;
  let dev: supertest.Agent;

  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
    await t.addPost({ title: 'First', category: 'caching' });
    dev = t.request();
  });
  afterAll(() => t?.close());

  async function barOf(path: string): Promise<{ id: string; token: string; html: string }> {
    const res = await dev.get(path).expect(200);
    return { id: String(res.headers['x-kiln-toolbar-id']), token: tokenOf(res.text), html: res.text };
  }

  it('shows an entry\'s remaining TTL and tags, drops the key, invalidates a tag, and lists both in History', async () => {
    await barOf('/');
    const { id, token } = await barOf('/');
    const data = (await dev.get(`/_toolbar/${id}`).expect(200)).body;
    const index = data.request.cache.findIndex((op: { origin: string; op: string }) => op.origin === 'view' && op.op === 'get');
    expect(index).toBeGreaterThanOrEqual(0);
    const entry = (await dev.get(`/_toolbar/${id}/cache/${index}`).expect(200)).body;
    expect(entry.exists).toBe(true);
    expect(entry.ttlSeconds).toBeGreaterThan(0);
    expect(entry.ttlText).toMatch(/s left$/);
    expect(entry.tags.length).toBeGreaterThan(0);
    // Without the token or from another origin: refused, nothing dropped.
    await dev.post(`/_toolbar/${id}/cache/${index}/drop`).set('Origin', SITE_URL).expect(403);
    await dev.post(`/_toolbar/${id}/cache/${index}/drop`).set('Origin', 'http://evil.example').set(TOKEN_HEADER, token).expect(403);
    await dev.post(`/_toolbar/${id}/cache/${index}/invalidate?tag=not-its-tag`).set('Origin', SITE_URL).set(TOKEN_HEADER, token).expect(400);
    const tag: string = entry.tags[0];
    const invalidated = await dev.post(`/_toolbar/${id}/cache/${index}/invalidate?tag=${encodeURIComponent(tag)}`).set('Origin', SITE_URL).set(TOKEN_HEADER, token).expect(200);
    expect(invalidated.body).toEqual({ invalidated: tag });
    expect((await dev.get('/').expect(200)).headers['x-cache']).toBe('MISS');
    const dropped = await dev.post(`/_toolbar/${id}/cache/${index}/drop`).set('Origin', SITE_URL).set(TOKEN_HEADER, token).expect(200);
    expect(dropped.body.dropped).toBe(true);
    expect((await dev.get(`/_toolbar/${id}/cache/${index}`).expect(200)).body).toMatchObject({ exists: false, ttlText: 'not in the cache' });
    const history = (await dev.get('/_toolbar').expect(200)).body.requests as Array<{ url: string; kind: string; method: string }>;
    const actions = history.filter((r) => r.kind === 'action').map((r) => `${r.method} ${r.url}`);
    expect(actions).toEqual([`POST /_toolbar/${id}/cache/${index}/drop`, `POST /_toolbar/${id}/cache/${index}/invalidate?tag=${encodeURIComponent(tag)}`]);
    const later = await barOf('/about');
    expect(later.html).toMatch(/POST \/_toolbar\/[^<]*\/drop<\/code> → 200 <span class="kiln-tb-badge kiln-tb-toolbar-action">toolbar action<\/span>/);
    // Another browser sees none of it.
    const other = (await supertest(t.server).get('/_toolbar').expect(200)).body.requests;
    expect(other).toEqual([]);
  });

  it('lists the browser\'s own POSTs in History', async () => {
    const csrf = await login(dev);
    await dev.post('/api/v1/preview').set('X-CSRF-Token', csrf).set('Origin', SITE_URL).type('json').send({ markdown: 'hello' }).expect(200);
    const history = (await dev.get('/_toolbar').expect(200)).body.requests as Array<{ url: string; method: string }>;
    expect(history.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/v1/preview');
  });

  it('explains a SELECT the request ran, and nothing else', async () => {
    const { id, token } = await barOf('/posts/1');
    const queries: Array<{ sql: string }> = (await dev.get(`/_toolbar/${id}`).expect(200)).body.request.queries;
    const select = queries.findIndex((q) => /^\s*SELECT/i.test(q.sql));
    expect(select).toBeGreaterThanOrEqual(0);
    const explained = await dev.post(`/_toolbar/${id}/sql/${select}/explain`).set('Origin', SITE_URL).set(TOKEN_HEADER, token).expect(200);
    expect(explained.body.plan.length).toBeGreaterThan(0);
    expect(explained.body.plan.join('\n')).toMatch(t.dataSource.options.type === 'postgres' ? /Scan|Result|Limit/ : /SCAN|SEARCH/);
    await dev.post(`/_toolbar/${id}/sql/${select}/explain`).set('Origin', SITE_URL).expect(403);
    await dev.post(`/_toolbar/${id}/sql/9999/explain`).set('Origin', SITE_URL).set(TOKEN_HEADER, token).expect(400);
    await supertest(t.server).post(`/_toolbar/${id}/sql/${select}/explain`).set('Origin', SITE_URL).set(TOKEN_HEADER, token).expect(404);
  });
});

const hasRedis = await requireRedis();

describe.skipIf(!hasRedis)('the dev toolbar over the Redis backend', () => {
  it.each(['0', '1048576'])('shows the Redis server\'s version and an entry\'s remaining TTL from Redis (near cache bytes %s)', async (near) => {
    const prefix = `kiln-toolbar-test-${randomBytes(6).toString('hex')}:`;
    const env = { CACHE_TYPE: 'redis', CACHE_REDIS_URL: SHARED_REDIS_URL, CACHE_KEY_PREFIX: prefix, CACHE_NEAR_MAX_BYTES: near, KILN_TOOLBAR: '1' };
    const t = await startTestApp({ env });
    try {
      await t.addPost({ title: 'On Redis' });
      const dev = t.request();
      await dev.get('/about').expect(200);
      const page = await dev.get('/about').expect(200);
      const id = String(page.headers['x-kiln-toolbar-id']);
      const data = (await dev.get(`/_toolbar/${id}`).expect(200)).body;
      expect(data.versions['Redis server']).toMatch(/^\d+\.\d+\.\d+$/);
      const index = data.request.cache.findIndex((op: { origin: string; op: string }) => op.origin === 'view' && op.op === 'get');
      const entry = (await dev.get(`/_toolbar/${id}/cache/${index}`).expect(200)).body;
      expect(entry).toMatchObject({ exists: true, ttlText: expect.stringMatching(/s left$/) });
      // The remote's TTL (the page's storage time), not a near copy's few seconds.
      expect(entry.ttlSeconds).toBeGreaterThan(60);
    } finally {
      await t.app.context.services.caching.cache.clear();
      await t.close();
    }
  });
});

describe('the dev toolbar in production', () => {
  it('offers no key actions or EXPLAIN even when switched on', async () => {
    const t = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1', NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(32) } });
    try {
      const dev = t.request();
      const page = await dev.get('/about').expect(200);
      expect(page.text).not.toContain('kiln-tb-entry');
      expect(page.text).not.toContain('kiln-tb-explain');
      const id = String(page.headers['x-kiln-toolbar-id']);
      await dev.get(`/_toolbar/${id}/cache/0`).expect(404);
      await dev.post(`/_toolbar/${id}/sql/0/explain`).set('Origin', SITE_URL).set(TOKEN_HEADER, tokenOf(page.text)).expect(404);
    } finally {
      await t.close();
    }
  });
});
