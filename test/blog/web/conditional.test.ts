import { describe, expect, it } from 'vitest';
import { entityTags, httpDate, notModified } from '../../../src/blog/web/conditional.ts';

const MODIFIED = Date.UTC(2026, 0, 15, 12, 0, 0, 750);
const CURRENT = { etag: '"abc"', lastModifiedMs: MODIFIED };
const AT = new Date(Date.UTC(2026, 0, 15, 12, 0, 0)).toUTCString();

describe('notModified()', () => {
  it('matches If-None-Match by weak comparison, in a list, and * for any representation', () => {
    expect(notModified({ ifNoneMatch: '"abc"' }, CURRENT)).toBe(true);
    expect(notModified({ ifNoneMatch: 'W/"abc"' }, CURRENT)).toBe(true);
    expect(notModified({ ifNoneMatch: '"x", W/"y",  "abc" ' }, CURRENT)).toBe(true);
    expect(notModified({ ifNoneMatch: '*' }, CURRENT)).toBe(true);
    expect(notModified({ ifNoneMatch: '"abcd"' }, CURRENT)).toBe(false);
    expect(notModified({ ifNoneMatch: 'abc' }, CURRENT)).toBe(false);
  });

  it('lets If-None-Match decide alone when present (If-Modified-Since is then ignored)', () => {
    expect(notModified({ ifNoneMatch: '"other"', ifModifiedSince: AT }, CURRENT)).toBe(false);
    expect(notModified({ ifNoneMatch: '"abc"', ifModifiedSince: 'Thu, 01 Jan 1970 00:00:00 GMT' }, CURRENT)).toBe(true);
  });

  it('compares If-Modified-Since in whole seconds, and ignores a date it cannot read', () => {
    expect(notModified({ ifModifiedSince: AT }, CURRENT)).toBe(true);
    expect(notModified({ ifModifiedSince: new Date(MODIFIED + 60_000).toUTCString() }, CURRENT)).toBe(true);
    expect(notModified({ ifModifiedSince: new Date(MODIFIED - 1000).toUTCString() }, CURRENT)).toBe(false);
    expect(notModified({ ifModifiedSince: 'yesterday' }, CURRENT)).toBe(false);
    expect(notModified({}, CURRENT)).toBe(false);
  });

  it('treats an empty or malformed If-None-Match as absent', () => {
    expect(notModified({ ifNoneMatch: '', ifModifiedSince: AT }, CURRENT)).toBe(true);
    expect(notModified({ ifNoneMatch: '"abc" junk', ifModifiedSince: AT }, CURRENT)).toBe(true);
    expect(notModified({ ifNoneMatch: '"abc" junk' }, CURRENT)).toBe(false);
  });
});

describe('entityTags()', () => {
  it('reads a list of strong and weak tags, with commas inside a tag', () => {
    expect(entityTags('"a", W/"b,c" ,"d"')).toEqual(['"a"', '"b,c"', '"d"']);
    expect(entityTags(' * ')).toBe('*');
    expect(entityTags('"a" "b"')).toBeUndefined();
  });
});

describe('httpDate()', () => {
  it('writes an IMF-fixdate in whole seconds', () => {
    expect(httpDate(MODIFIED)).toBe('Thu, 15 Jan 2026 12:00:00 GMT');
  });
});
