import { describe, expect, it } from 'vitest';
import { ipAllowed, LOOPBACK_IPS, normalizeIp } from '../../../src/cache/koa/client-address.ts';

describe('ipAllowed()', () => {
  it('matches IPv4-mapped IPv6 forms to their IPv4 address and refuses an unknown client', () => {
    expect(normalizeIp('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(ipAllowed('::ffff:127.0.0.1', ['127.0.0.1'])).toBe(true);
    expect(ipAllowed('127.0.0.1', ['::ffff:127.0.0.1'])).toBe(true);
    expect(ipAllowed('::1', LOOPBACK_IPS)).toBe(true);
    expect(ipAllowed('10.0.0.1', LOOPBACK_IPS)).toBe(false);
    expect(ipAllowed('', LOOPBACK_IPS)).toBe(false);
  });
});
