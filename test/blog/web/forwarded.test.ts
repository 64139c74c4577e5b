import { once } from 'node:events';
import { request, type Server } from 'node:http';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardedHeaders, isForwardingHeader, proxyTrust } from '../../../src/blog/web/forwarded.ts';
import { parseTrustProxy } from '../../../src/config.ts';

describe('proxyTrust()', () => {
  it('trusts nobody without TRUST_PROXY', () => {
    const trust = proxyTrust(parseTrustProxy(''));
    expect(trust.trusts('127.0.0.1')).toBe(false);
  });

  it('with a hop count, trusts only a loopback peer and takes the entry that many hops back', () => {
    const one = proxyTrust(parseTrustProxy('1'));
    for (const peer of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) expect(one.trusts(peer), peer).toBe(true);
    for (const peer of ['10.0.0.5', '203.0.113.7', '::2', '']) expect(one.trusts(peer), peer).toBe(false);
    expect(one.client('127.0.0.1', '198.51.100.1, 203.0.113.7')).toBe('203.0.113.7');
    expect(one.client('127.0.0.1', '')).toBe('127.0.0.1');
    const two = proxyTrust(parseTrustProxy('2'));
    expect(two.client('127.0.0.1', '198.51.100.1, 203.0.113.7, 10.0.0.9')).toBe('203.0.113.7');
    expect(two.client('127.0.0.1', '10.0.0.9')).toBe('10.0.0.9');
  });

  it('with addresses, trusts only those peers and skips every listed hop from the right', () => {
    const trust = proxyTrust(parseTrustProxy('10.0.0.5, 10.1.0.0/16, 2001:db8:ff::/48'));
    for (const peer of ['10.0.0.5', '::ffff:10.0.0.5', '10.1.200.3', '2001:db8:ff:1::9']) expect(trust.trusts(peer), peer).toBe(true);
    for (const peer of ['10.0.0.6', '127.0.0.1', '10.2.0.1', '2001:db8:fe::1']) expect(trust.trusts(peer), peer).toBe(false);
    // The client prepended a lie; the proxies appended what they saw.
    expect(trust.client('10.0.0.5', '127.0.0.1, 203.0.113.7, 10.1.0.4')).toBe('203.0.113.7');
    expect(trust.client('10.0.0.5', '10.1.0.4')).toBe('10.1.0.4');
    expect(trust.client('10.0.0.5', '')).toBe('10.0.0.5');
    // Something that is not an address counts as the proxy itself.
    expect(trust.client('10.0.0.5', 'unknown')).toBe('10.0.0.5');
  });
});

describe('isForwardingHeader()', () => {
  it('covers X-Forwarded-*, Forwarded and X-Real-IP, and nothing else', () => {
    for (const name of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'forwarded', 'x-real-ip']) {
      expect(isForwardingHeader(name), name).toBe(true);
    }
    for (const name of ['host', 'origin', 'x-forwarded', 'x-request-id']) expect(isForwardingHeader(name), name).toBe(false);
  });
});

describe('forwardedHeaders()', () => {
  let server: Server | undefined;
  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  /** A Koa app behind `forwardedHeaders(TRUST_PROXY=value)` that echoes what Koa then believes. */
  async function start(value: string): Promise<number> {
    const app = new Koa({ proxy: true, maxIpsCount: 1 });
    const normalize = forwardedHeaders(parseTrustProxy(value));
    app.use((ctx) => {
      normalize(ctx);
      const left = Object.keys(ctx.headers).filter(isForwardingHeader).sort();
      ctx.body = { ip: ctx.ip, protocol: ctx.protocol, host: ctx.host, left };
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** GETs / from `localAddress` with `headers`; resolves the parsed echo. */
  function get(port: number, localAddress: string, headers: Record<string, string>): Promise<{ ip: string; protocol: string; host: string; left: string[] }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', localAddress, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const SPOOF = {
    Host: 'kiln.test',
    'X-Forwarded-For': '127.0.0.1',
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': 'evil.example',
    Forwarded: 'for=127.0.0.1;proto=https',
    'X-Real-IP': '127.0.0.1',
  };

  it('drops every forwarding header from a peer that is not the proxy', async () => {
    const port = await start('10.9.9.9');
    expect(await get(port, '127.0.0.2', SPOOF)).toEqual({ ip: '127.0.0.2', protocol: 'http', host: 'kiln.test', left: [] });
  });

  it("believes the proxy's headers, leaving one client address in X-Forwarded-For", async () => {
    const port = await start('127.0.0.2');
    const seen = await get(port, '127.0.0.2', { ...SPOOF, 'X-Forwarded-For': '127.0.0.1, 203.0.113.7' });
    expect(seen).toMatchObject({ ip: '203.0.113.7', protocol: 'https', host: 'evil.example' });
    expect(await get(port, '127.0.0.3', SPOOF)).toMatchObject({ ip: '127.0.0.3', protocol: 'http', host: 'kiln.test' });
  });
});
