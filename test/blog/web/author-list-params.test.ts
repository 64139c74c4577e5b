import { describe, expect, it } from 'vitest';
import { AUTHOR_LIST_PER_PAGE, authorListUrl, parseAuthorListQuery } from '../../../src/blog/web/author-list-params.ts';

describe('parseAuthorListQuery()', () => {
  it('reads a well-formed query with no notice', () => {
    expect(parseAuthorListQuery({ q: '  cache  ', status: 'draft', category: 'web-dev', page: '3' })).toEqual({
      filter: { page: 3, perPage: AUTHOR_LIST_PER_PAGE, status: 'draft', category: 'web-dev', search: 'cache' },
      notices: [],
    });
    expect(parseAuthorListQuery({})).toEqual({ filter: { page: 1, perPage: AUTHOR_LIST_PER_PAGE, status: 'all', category: undefined, search: undefined }, notices: [] });
    expect(parseAuthorListQuery({ q: '', status: '', category: '' }).notices).toEqual([]);
  });

  it.each([['0'], ['-1'], ['1.5'], ['abc'], ['1e3'], ['9999999'], [''], [' 2']])('falls back to page 1 with a notice for page=%j', (page) => {
    const { filter, notices } = parseAuthorListQuery({ page });
    expect(filter.page).toBe(1);
    expect(notices).toEqual([expect.stringMatching(/first page/)]);
  });

  it('ignores an unknown status or a malformed category, saying so', () => {
    const { filter, notices } = parseAuthorListQuery({ status: 'deleted', category: 'Not A Category' });
    expect(filter).toMatchObject({ status: 'all', category: undefined });
    expect(notices).toHaveLength(2);
    expect(parseAuthorListQuery({ category: 'x'.repeat(61) }).filter.category).toBeUndefined();
  });

  it('ignores a repeated parameter, saying so', () => {
    const { filter, notices } = parseAuthorListQuery({ page: ['2', '3'], q: ['a', 'b'], status: ['draft', 'published'] });
    expect(filter).toMatchObject({ page: 1, search: undefined, status: 'all' });
    expect(notices.filter((n) => n.includes('more than once'))).toHaveLength(3);
  });

  it('cuts a search to 100 characters (code points, not UTF-16 units) and says so', () => {
    const { filter, notices } = parseAuthorListQuery({ q: '🎉'.repeat(150) });
    expect(Array.from(filter.search ?? '')).toHaveLength(100);
    expect(filter.search).toBe('🎉'.repeat(100));
    expect(notices).toEqual([expect.stringMatching(/at most 100 characters/)]);
    expect(parseAuthorListQuery({ q: 'a'.repeat(100) }).notices).toEqual([]);
  });

  it('turns control characters (a NUL among them) into spaces', () => {
    expect(parseAuthorListQuery({ q: 'a\u0000b\tc\u007f' }).filter.search).toBe('a b c');
    expect(parseAuthorListQuery({ q: '\u0000\u0001' }).filter.search).toBeUndefined();
  });
});

describe('authorListUrl()', () => {
  it('keeps only the parameters in use, encoded', () => {
    expect(authorListUrl({ status: 'all' }, 1)).toBe('/admin');
    expect(authorListUrl({ status: 'draft', category: 'koa', search: '100% & more' }, 2)).toBe('/admin?q=100%25+%26+more&status=draft&category=koa&page=2');
  });
});
