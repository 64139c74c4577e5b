import { describe, expect, it } from 'vitest';
import { negotiateEncoding, parseAcceptEncoding } from '../../../src/cache/koa/accept-encoding.ts';

const BOTH = ['br', 'gzip'] as const;

describe('negotiateEncoding()', () => {
  it('prefers br to gzip when both are equally acceptable, as browsers list them', () => {
    expect(negotiateEncoding('gzip, deflate, br, zstd', BOTH)).toBe('br');
    expect(negotiateEncoding('br, gzip', BOTH)).toBe('br');
    expect(negotiateEncoding('gzip;q=0.8, br;q=0.8', BOTH)).toBe('br');
  });

  it('follows the weights: the highest acceptable one wins', () => {
    expect(negotiateEncoding('br;q=0.5, gzip', BOTH)).toBe('gzip');
    expect(negotiateEncoding('br;q=0.2, gzip;q=0.1', BOTH)).toBe('br');
    expect(negotiateEncoding('gzip;q=0.5, identity', BOTH)).toBe('identity');
    expect(negotiateEncoding('gzip;Q=1.000', BOTH)).toBe('gzip');
  });

  it('never sends a coding refused with q=0', () => {
    expect(negotiateEncoding('gzip;q=0, br;q=0', BOTH)).toBe('identity');
    expect(negotiateEncoding('br;q=0, gzip', BOTH)).toBe('gzip');
    expect(negotiateEncoding('br;q=0.000, *', BOTH)).toBe('gzip');
    expect(negotiateEncoding('*;q=0', BOTH)).toBe('identity');
  });

  it('reads * as every coding not named, identity included', () => {
    expect(negotiateEncoding('*', BOTH)).toBe('br');
    expect(negotiateEncoding('br;q=0, *;q=0.5', BOTH)).toBe('gzip');
    expect(negotiateEncoding('identity;q=0, *;q=0.1', BOTH)).toBe('br');
  });

  it('sends identity without the header, with an empty one, or for codings it does not make', () => {
    expect(negotiateEncoding(undefined, BOTH)).toBe('identity');
    expect(negotiateEncoding('', BOTH)).toBe('identity');
    expect(negotiateEncoding('deflate, zstd', BOTH)).toBe('identity');
    expect(negotiateEncoding('identity', BOTH)).toBe('identity');
    expect(negotiateEncoding('br, gzip', [])).toBe('identity');
    expect(negotiateEncoding('br, gzip', ['gzip'])).toBe('gzip');
  });

  it('counts x-gzip as gzip, ignores case and spaces, and drops entries with a malformed weight', () => {
    expect(negotiateEncoding('x-gzip', BOTH)).toBe('gzip');
    expect(negotiateEncoding(' GZIP ; q = 0.7 ,  Br ; q=0.6 ', BOTH)).toBe('gzip');
    expect(negotiateEncoding('br;q=2, gzip;q=0.1', BOTH)).toBe('gzip');
    expect(negotiateEncoding('br;q=0.1234, br;q=0.5', BOTH)).toBe('br');
    expect(negotiateEncoding('br;q=abc', BOTH)).toBe('identity');
  });
});

describe('parseAcceptEncoding()', () => {
  it('gives each listed coding its weight, the first entry of a coding counting', () => {
    expect(Object.fromEntries(parseAcceptEncoding('gzip;q=0.5, br, gzip;q=1, *;q=0'))).toEqual({ gzip: 0.5, br: 1, '*': 0 });
  });
});
