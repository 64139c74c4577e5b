import { once } from 'node:events';
import type { Server } from 'node:http';
import Koa from 'koa';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsRoutes, type MetricsText } from '../../../src/blog/routes/metrics.ts';
import { CacheMetrics } from '../../../src/cache/index.ts';

const TOKEN = 'scrape-token-0123456789';
let server: Server | undefined;

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A Koa app serving only /metrics; with `proxy` it trusts X-Forwarded-For, as behind TLS proxy. */
async function start(options: { token?: string; proxy?: boolean; metrics?: MetricsText } = {}) {
  const app = new Koa({ proxy: options.proxy ?? false, maxIpsCount: 1 });
  const router = metricsRoutes({ metrics: options.metrics ?? new CacheMetrics(), token: options.token });
  app.use(router.routes());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return supertest(server);
}

describe('GET /metrics', () => {
  it('answers 503 with the reason, not a partial count, when the numbers cannot be had', async () => {
    const http = await start({ metrics: { render: () => Promise.reject(new Error('the cluster primary did not answer within 5000 ms')) } });
    const res = await http.get('/metrics').expect(503);
    expect(res.text).toBe('Metrics are unavailable: the cluster primary did not answer within 5000 ms\n');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers a loopback client with the Prometheus text format, uncached', async () => {
    const http = await start();
    const res = await http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('# TYPE kiln_page_cache_results_total counter');
  });

  it('does not exist (404) for a remote client when no token is configured', async () => {
    const http = await start({ proxy: true });
    await http.get('/metrics').set('X-Forwarded-For', '203.0.113.5').expect(404);
    await http.get('/metrics').set('X-Forwarded-For', '203.0.113.5').set('Authorization', `Bearer ${TOKEN}`).expect(404);
  });

  it('asks a remote client for the bearer token (401) and lets the right one through', async () => {
    const http = await start({ token: TOKEN, proxy: true });
    const remote = () => http.get('/metrics').set('X-Forwarded-For', '203.0.113.5');
    const refused = await remote().expect(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(refused.text).not.toContain('kiln_');
    await remote().set('Authorization', 'Bearer wrong-token-0123456789').expect(401);
    await remote().set('Authorization', `Basic ${TOKEN}`).expect(401);
    await remote().set('Authorization', `Bearer ${TOKEN}`).expect(200);
  });

  it('treats a loopback peer relaying for someone else (untrusted proxy) as remote', async () => {
    const http = await start({ token: TOKEN });
    await http.get('/metrics').set('X-Forwarded-For', '203.0.113.5').expect(401);
    await http.get('/metrics').set('X-Forwarded-For', '203.0.113.5').set('Authorization', `Bearer ${TOKEN}`).expect(200);
  });
});
