import type { ParsedUrlQuery } from 'node:querystring';
import { SEARCH_MAX, type AuthorListFilter } from '../services/author-list.ts';
import { parseCategory, parsePage } from './params.ts';

/** Rows a page of the author's list shows. */
export const AUTHOR_LIST_PER_PAGE = 50;

/** What the author's list was asked for: the filter to run, and what was wrong with the request. */
export interface AuthorListRequest {
  filter: AuthorListFilter;
  /** One sentence per parameter that was ignored or cut, for the page to show. */
  notices: string[];
}

const STATUSES: readonly AuthorListFilter['status'][] = ['all', 'published', 'draft'];
// Control characters never belong in a title search (PostgreSQL refuses a NUL in text outright).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Reads `?q=&status=&category=&page=` of `GET /admin`. Nothing here fails: a malformed or repeated
 * parameter is left out (the first page, every status, every category) with a notice saying so,
 * and a search longer than {@link SEARCH_MAX} characters is cut to that length.
 */
export function parseAuthorListQuery(query: ParsedUrlQuery): AuthorListRequest {
  const notices: string[] = [];
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (!Array.isArray(value)) return value;
    notices.push(`The "${name}" parameter was given more than once, so it was ignored.`);
    return undefined;
  };

  const rawPage = single('page');
  let page = parsePage(rawPage);
  if (page === null) {
    notices.push('The page number was not a whole number from 1 up; showing the first page.');
    page = 1;
  }

  const rawStatus = single('status') ?? '';
  let status: AuthorListFilter['status'] = 'all';
  if (STATUSES.includes(rawStatus as AuthorListFilter['status'])) status = rawStatus as AuthorListFilter['status'];
  else if (rawStatus !== '') notices.push('The status filter must be published or draft; showing every status.');

  const rawCategory = single('category') ?? '';
  let category: string | undefined;
  if (rawCategory !== '') {
    category = parseCategory(rawCategory) ?? undefined;
    if (category === undefined) notices.push('That is not a category name; showing every category.');
  }

  let search: string | undefined = (single('q') ?? '').replace(CONTROL, ' ').trim();
  const characters = Array.from(search);
  if (characters.length > SEARCH_MAX) {
    notices.push(`Searches are at most ${SEARCH_MAX} characters; only the first ${SEARCH_MAX} were used.`);
    search = characters.slice(0, SEARCH_MAX).join('').trim();
  }
  if (search === '') search = undefined;

  return { filter: { page, perPage: AUTHOR_LIST_PER_PAGE, status, category, search }, notices };
}

/** The URL of page `page` of the author's list under `filter`, keeping only the parameters in use. */
export function authorListUrl(filter: Omit<AuthorListFilter, 'page' | 'perPage'>, page: number): string {
  const params = new URLSearchParams();
  if (filter.search !== undefined) params.set('q', filter.search);
  if (filter.status !== 'all') params.set('status', filter.status);
  if (filter.category !== undefined) params.set('category', filter.category);
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return query === '' ? '/admin' : `/admin?${query}`;
}
