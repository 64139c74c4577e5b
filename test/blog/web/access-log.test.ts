import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog, jsonLine, textLine } from '../../../src/blog/web/access-log.ts';
import { requestIds } from '../../../src/blog/web/request-id.ts';
import type { RequestReport } from '../../../src/cache/index.ts';
import { parseTrustProxy } from '../../../src/config.ts';
import { AUTHOR, login, startTestApp, type TestApp } from '../../support/app.ts';

// The access log and X-Request-Id through the real app: one line per response, early answers
// included, with the id the response carried; no query string, cookie or password in any line.

/** The line whose id is `id`, as its fields: `time level METHOD path status cache bytes ms id=… worker=…`. */
function lineOf(lines: readonly string[], id: string): string[] {
  const line = lines.find((l) => l.includes(` id=${id} `));
  if (line === undefined) throw new Error(`no access line for ${id} in:\n${lines.join('')}`);
  return line.trim().split(' ');
}

describe('the access log of the blog', () => {
  let t: TestApp;

  beforeAll(async () => {
    // debug: the lines also say whether the frame answered early.
    t = await startTestApp({ env: { CACHE_TYPE: 'memory', LOG_LEVEL: 'debug' }, demo: true });
  });
  afterAll(() => t.close());

  it('writes one line per request with the id it sent as X-Request-Id, a cached hit answered early included', async () => {
    const miss = await t.request().get('/');
    const hit = await t.request().get('/');
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    const ids = [miss.headers['x-request-id'], hit.headers['x-request-id']];
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(ids[1]).not.toBe(ids[0]);
    const [, level, method, path, status, cache, bytes, ms, , worker] = lineOf(t.accessLines, String(ids[1]));
    expect([level, method, path, status, cache, bytes, worker]).toEqual(['info', 'GET', '/', '200', 'HIT', `${hit.headers["content-length"]}B`, 'worker=0']);
    expect(Number(ms.replace(/ms$/, ''))).toBeGreaterThanOrEqual(0);
    expect(lineOf(t.accessLines, String(ids[1])).at(-1)).toBe('early');
    expect(lineOf(t.accessLines, String(ids[0]))[5]).toBe('MISS');
    expect(t.accessLines.filter((l) => l.includes(` id=${ids[1]} `))).toHaveLength(1);
  });

  it('gives refusals, 404s and static files an id too', async () => {
    for (const path of ['//posts', '/no-such-page', '/favicon.ico']) {
      const res = await t.request().get(path);
      const id = String(res.headers['x-request-id']);
      expect(lineOf(t.accessLines, id).slice(3, 5)).toEqual([path, String(res.status)]);
    }
  });

  it('writes the path without its query string, and no cookie or password', async () => {
    const agent = t.request();
    await login(agent);
    const res = await agent.get('/admin?q=secret-query-token');
    expect(res.status).toBe(200);
    const line = lineOf(t.accessLines, String(res.headers['x-request-id']));
    expect(line[3]).toBe('/admin');
    const all = t.accessLines.join('');
    expect(all).not.toContain('secret-query-token');
    expect(all).not.toContain(AUTHOR.password);
    expect(all).not.toMatch(/kiln[.:]sess|cookie/i);
  });

  it('ignores an X-Request-Id from a client that is not a trusted proxy', async () => {
    const res = await t.request().get('/about').set('X-Request-Id', 'chosen-by-client');
    expect(res.headers['x-request-id']).not.toBe('chosen-by-client');
  });
});

describe('requestIds()', () => {
  const ctxFrom = (peer: string, sent?: string) =>
    ({ req: { headers: sent === undefined ? {} : { 'x-request-id': sent }, socket: { remoteAddress: peer } } }) as never;

  it('keeps a sane X-Request-Id from a trusted proxy only, and makes a new one otherwise', () => {
    const next = requestIds({ trustProxy: parseTrustProxy('10.0.0.5'), prefix: 'w1' });
    expect(next(ctxFrom('10.0.0.5', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6'))).toBe('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    expect(next(ctxFrom('10.0.0.6', 'mine'))).toBe('w1-1');
    expect(next(ctxFrom('10.0.0.5', 'two words'))).toBe('w1-2');
    expect(next(ctxFrom('10.0.0.5', 'x'.repeat(129)))).toBe('w1-3');
    expect(next(ctxFrom('10.0.0.5', 'a"}\n{"forged":1'))).toBe('w1-4');
    expect(next(ctxFrom('10.0.0.5'))).toBe('w1-5');
  });

  it('believes no one without TRUST_PROXY', () => {
    const next = requestIds({ trustProxy: parseTrustProxy('0'), prefix: 'p' });
    expect(next(ctxFrom('127.0.0.1', 'from-loopback'))).toBe('p-1');
  });

  it('makes different ids in two processes (a random prefix each)', () => {
    const a = requestIds({ trustProxy: parseTrustProxy('0') });
    const b = requestIds({ trustProxy: parseTrustProxy('0') });
    expect(a(ctxFrom('::1'))).not.toBe(b(ctxFrom('::1')));
  });

  it('is honoured through a proxy on this host (TRUST_PROXY=1) in the real app', async () => {
    const t = await startTestApp({ env: { TRUST_PROXY: '1' } });
    try {
      const res = await supertest(t.server).get('/about').set('X-Request-Id', 'edge-42');
      expect(res.headers['x-request-id']).toBe('edge-42');
      expect(lineOf(t.accessLines, 'edge-42')[3]).toBe('/about');
    } finally {
      await t.close();
    }
  });
});

describe('accessLog()', () => {
  const report: RequestReport = {
    method: 'GET',
    path: '/posts/1',
    status: 200,
    durationMs: 1.23456,
    route: '/posts/:id',
    bytes: 512,
    pageCache: { status: 'HIT' },
    early: true,
    requestId: 'abc-1',
  };
  const logged = (level: Parameters<typeof accessLog>[0]['level'], format: 'json' | 'text', reports: RequestReport[]) => {
    const lines: string[] = [];
    const log = accessLog({ level, format, worker: 2, out: { write: (l) => void lines.push(l) }, now: () => 0 });
    for (const r of reports) log?.report(r);
    return { log, lines };
  };

  it('writes one JSON object per line in production', () => {
    const { lines } = logged('info', 'json', [report]);
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('}\n')).toBe(true);
    expect(JSON.parse(lines[0])).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      level: 'info',
      worker: 2,
      msg: 'request',
      method: 'GET',
      path: '/posts/1',
      status: 200,
      cache: 'HIT',
      bytes: 512,
      ms: 1.23,
      id: 'abc-1',
    });
  });

  it('cannot be forged by a path: quotes and newlines stay inside one field', () => {
    const path = '/a"}\n{"level":"error","msg":"forged';
    const json = jsonLine({ ...report, path }, 'info', 'T', 1, false);
    expect(json.split('\n')).toHaveLength(2);
    expect(JSON.parse(json).path).toBe(path);
    const text = textLine({ ...report, path }, 'info', 'T', 1, false);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain(JSON.stringify(path));
  });

  it('follows LOG_LEVEL: warn and error keep only 5xx lines, silent writes none, debug adds the route and the reason', () => {
    const failed = { ...report, status: 503, pageCache: undefined };
    expect(logged('warn', 'text', [report, failed]).lines.map((l) => l.split(' ')[1])).toEqual(['error']);
    expect(logged('error', 'json', [report, failed]).lines).toHaveLength(1);
    expect(logged('silent', 'json', [report]).log).toBeUndefined();
    const [debug] = logged('debug', 'json', [{ ...report, pageCache: { status: 'HIT', reason: 'early-fresh' } as never }]).lines;
    expect(JSON.parse(debug)).toMatchObject({ route: '/posts/:id', reason: 'early-fresh', early: true });
    expect(logged('debug', 'text', [report]).lines[0]).toContain(' route=/posts/:id early');
  });
});
