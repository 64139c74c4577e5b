import { describe, expect, it } from 'vitest';
import { CacheConfigError } from '../../../src/cache/config.ts';
import { LOOPBACK_IPS } from '../../../src/cache/koa/client-address.ts';
import { toolbarConfigFromEnv } from '../../../src/cache/toolbar/access.ts';

describe('toolbarConfigFromEnv()', () => {
  it('is on in development and off in production and test, loopback only', () => {
    expect(toolbarConfigFromEnv({}, 'development')).toEqual({ enabled: true, allowedIps: LOOPBACK_IPS });
    expect(toolbarConfigFromEnv({}, 'production').enabled).toBe(false);
    expect(toolbarConfigFromEnv({}, 'test').enabled).toBe(false);
  });

  it('lets KILN_TOOLBAR override the default either way', () => {
    expect(toolbarConfigFromEnv({ KILN_TOOLBAR: '1' }, 'production').enabled).toBe(true);
    expect(toolbarConfigFromEnv({ KILN_TOOLBAR: 'off' }, 'development').enabled).toBe(false);
    expect(toolbarConfigFromEnv({ KILN_TOOLBAR: ' ' }, 'development').enabled).toBe(true);
  });

  it('reads KILN_TOOLBAR_IPS separated by commas or spaces', () => {
    expect(toolbarConfigFromEnv({ KILN_TOOLBAR: '1', KILN_TOOLBAR_IPS: '10.0.0.7, 192.168.1.2 ::1' }, 'production').allowedIps).toEqual([
      '10.0.0.7',
      '192.168.1.2',
      '::1',
    ]);
  });

  it('refuses bad values naming the variable', () => {
    expect(() => toolbarConfigFromEnv({ KILN_TOOLBAR: 'maybe' }, 'development')).toThrow(CacheConfigError);
    expect(() => toolbarConfigFromEnv({ KILN_TOOLBAR: 'maybe' }, 'development')).toThrow(/^KILN_TOOLBAR:/);
    expect(() => toolbarConfigFromEnv({ KILN_TOOLBAR_IPS: '10.0.0.0/8' }, 'development')).toThrow(/^KILN_TOOLBAR_IPS: "10.0.0.0\/8"/);
  });
});
