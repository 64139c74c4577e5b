import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { PostEntity, type PostRow } from '../entities/post.ts';

/** One row of the author's post list: only what the list shows, never the body. */
export type AuthorListRow = Pick<PostRow, 'id' | 'title' | 'category' | 'published' | 'createdAt' | 'updatedAt'>;

/** The columns the list reads (entity property names); `body` is deliberately absent. */
export const AUTHOR_LIST_COLUMNS = ['id', 'title', 'category', 'published', 'createdAt', 'updatedAt'] as const satisfies readonly (keyof AuthorListRow)[];

/** Which posts the author's list shows. */
export interface AuthorListFilter {
  /** 1-based; a page past the end is answered with the last page. */
  page: number;
  /** Rows per page. */
  perPage: number;
  status: 'all' | 'published' | 'draft';
  /** Exact category name, or undefined for every category. */
  category?: string;
  /** Text the title must contain, case-insensitively (at most {@link SEARCH_MAX} characters). */
  search?: string;
}

/** One page of the author's list. `pages` is at least 1; `page` is the page actually shown. */
export interface AuthorListPage {
  rows: AuthorListRow[];
  page: number;
  pages: number;
  /** Posts matching the filter, on every page. */
  total: number;
}

/** Longest search text accepted, in characters. */
export const SEARCH_MAX = 100;

/**
 * The SQL function that lower-cases text the way JavaScript does, registered on every SQLite
 * connection (ormconfig.ts): SQLite's own `lower()` and `LIKE` fold ASCII letters only, so
 * "ÉCOLE" would not match "école". PostgreSQL's `lower()` folds by the database's locale.
 */
export const SQLITE_LOWER_FUNCTION = 'kiln_lower';

/** `text` as a LIKE pattern matching it anywhere, with `\`, `%` and `_` escaped (ESCAPE '\'). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The query of one page of the author's list: the rows matching `filter`, newest first, only the
 * {@link AUTHOR_LIST_COLUMNS}. The search is a case-insensitive LIKE on the lower-cased title,
 * its text bound as a parameter.
 */
export function authorListQuery(ds: DataSource, filter: Omit<AuthorListFilter, 'page' | 'perPage'>): SelectQueryBuilder<PostRow> {
  const query = ds
    .getRepository(PostEntity)
    .createQueryBuilder('p')
    .select(AUTHOR_LIST_COLUMNS.map((column) => `p.${column}`));
  if (filter.status !== 'all') query.andWhere('p.published = :published', { published: filter.status === 'published' });
  if (filter.category !== undefined) query.andWhere('p.category = :category', { category: filter.category });
  if (filter.search !== undefined && filter.search !== '') {
    const lower = ds.options.type === 'better-sqlite3' ? SQLITE_LOWER_FUNCTION : 'LOWER';
    query.andWhere(`${lower}(p.title) LIKE :pattern ESCAPE '\\'`, { pattern: containsPattern(filter.search.toLowerCase()) });
  }
  return query.orderBy('p.createdAt', 'DESC').addOrderBy('p.id', 'DESC');
}

/** One page of the author's list (two queries: the count, then the page's rows). */
export async function authorList(ds: DataSource, filter: AuthorListFilter): Promise<AuthorListPage> {
  const query = authorListQuery(ds, filter);
  // A plain COUNT(*): TypeORM's getCount() counts DISTINCT ids, which PostgreSQL sorts to do.
  const counted: { total: string | number } | undefined = await query.clone().orderBy().select('COUNT(*)', 'total').getRawOne();
  const total = Number(counted?.total ?? 0);
  const pages = Math.max(1, Math.ceil(total / filter.perPage));
  const page = Math.min(filter.page, pages);
  const rows = await query
    .offset((page - 1) * filter.perPage)
    .limit(filter.perPage)
    .getMany();
  return { rows, page, pages, total };
}

/** Every category in use, drafts included, by name (the list's category filter). */
export async function authorCategories(ds: DataSource): Promise<string[]> {
  const rows: { category: string }[] = await ds
    .getRepository(PostEntity)
    .createQueryBuilder('p')
    .select('p.category', 'category')
    .distinct(true)
    .orderBy('p.category', 'ASC')
    .getRawMany();
  return rows.map((row) => row.category);
}
