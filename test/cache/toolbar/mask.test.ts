import { describe, expect, it } from 'vitest';
import { MASK, maskHeaders, maskSettings, maskUrlCredentials, redactSecrets } from '../../../src/cache/toolbar/mask.ts';

describe('maskSettings()', () => {
  it('masks every secret-looking name at any depth and credentials inside URLs, keeping the rest', () => {
    const masked = maskSettings({
      port: 3000,
      sessionSecret: 's3cret-value',
      authorPassword: undefined,
      metricsToken: 'tok',
      METRICS_TOKEN: 'tok',
      cache: { redis: { password: 'pw', url: 'redis://user:pw@host:6379/0', host: 'host' } },
      databaseUrl: 'postgres://kiln:db-pass@db:5432/kiln',
      purge: ['http://a:b@varnish/'],
      apiKey: 'k',
      when: new Date(0),
    });
    expect(masked).toEqual({
      port: 3000,
      sessionSecret: MASK,
      // Whether it is set still shows.
      authorPassword: undefined,
      metricsToken: MASK,
      METRICS_TOKEN: MASK,
      cache: { redis: { password: MASK, url: `redis://${MASK}:${MASK}@host:6379/0`, host: 'host' } },
      databaseUrl: `postgres://${MASK}:${MASK}@db:5432/kiln`,
      purge: [`http://${MASK}:${MASK}@varnish/`],
      apiKey: MASK,
      when: '1970-01-01T00:00:00.000Z',
    });
  });

  it('does not mask names that only look alike', () => {
    expect(maskSettings({ authorUsername: 'author', keyPrefix: 'kiln:' })).toEqual({ authorUsername: 'author', keyPrefix: 'kiln:' });
  });
});

describe('maskUrlCredentials()', () => {
  it('masks a token-only user too, and leaves URLs without credentials alone', () => {
    expect(maskUrlCredentials('rediss://:only-pass@h')).toBe(`rediss://${MASK}:${MASK}@h`);
    expect(maskUrlCredentials('https://token@h/x')).toBe(`https://${MASK}@h/x`);
    expect(maskUrlCredentials('http://h/a@b')).toBe('http://h/a@b');
  });
});

describe('maskHeaders()', () => {
  it('keeps cookie names and the authorisation scheme, and masks their values', () => {
    expect(
      maskHeaders({
        Cookie: 'kiln.sid=abc; kiln_toolbar=def',
        'set-cookie': ['kiln.sid=xyz; Path=/; HttpOnly'],
        authorization: 'Bearer t0ken',
        'x-kiln-toolbar-token': '123.abc',
        accept: 'text/html',
      }),
    ).toEqual([
      ['cookie', `kiln.sid=${MASK}; kiln_toolbar=${MASK}`],
      ['set-cookie', `kiln.sid=${MASK}; Path=/; HttpOnly`],
      ['authorization', `Bearer ${MASK}`],
      ['x-kiln-toolbar-token', MASK],
      ['accept', 'text/html'],
    ]);
  });
});

describe('redactSecrets()', () => {
  it('replaces each named secret in plain, URL-encoded, JSON and HTML-escaped form', () => {
    const secret = 'p@ss"word/1';
    const text = [secret, encodeURIComponent(secret), JSON.stringify(secret), secret.replace('"', '&#34;')].join(' ');
    const out = redactSecrets(text, [secret]);
    expect(out).not.toContain('ss"word');
    expect(out).not.toContain('ss%22word');
    expect(out).not.toContain('ss\\"word');
    expect(out).not.toContain('ss&#34;word');
  });

  it('ignores values too short to be secrets', () => {
    expect(redactSecrets('the cat sat', ['cat'])).toBe('the cat sat');
  });
});
