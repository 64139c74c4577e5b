import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.ts';

// The Logging tab through the real blog: a cache backend that cannot be reached is logged (and
// served fail-open) during the request that found out, and only that request's tab shows it.

describe('the dev toolbar\'s Logging tab in the blog', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails at once.
    t = await startTestApp({ env: { CACHE_TYPE: 'redis', CACHE_REDIS_URL: 'redis://127.0.0.1:1', CACHE_NEAR_MAX_BYTES: '0', KILN_TOOLBAR: '1' } });
  });
  afterAll(() => t?.close());

  it('shows the log lines written while the request ran, and none on the requests after it', async () => {
    const dev = t.request();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push(String((await dev.get('/about').expect(200)).headers['x-kiln-toolbar-id']));
    const logs = await Promise.all(ids.map(async (id) => (await dev.get(`/_toolbar/${id}`).expect(200)).body.request.logs as Array<{ level: string; msg: string }>));
    // The cache logs a failing backend once per state change: on the first request, not the next ones.
    expect(logs[0].map((line) => line.level)).toContain('warn');
    expect(logs[0].some((line) => /cache backend "redis" is failing/.test(line.msg))).toBe(true);
    // (The breaker may log a probe after its 2 s pause on a slow machine; the failure itself is not repeated.)
    for (const later of logs.slice(1)) expect(later.filter((line) => /is failing/.test(line.msg))).toEqual([]);
    // The lines still reach the app's own logger.
    const written = t.logger.lines.map((line) => line.msg);
    for (const line of logs[0]) expect(written).toContain(line.msg);
  });
});
