import type { Context } from 'koa';
import type { Sidebar } from '../caching.ts';
import type { PostRendering } from '../post-rendering.ts';
import type { Post, PostPage } from '../services/posts.ts';

/** What a listing shows of one post. */
export interface PostSummary {
  id: number;
  title: string;
  category: string;
  createdAt: Date;
  excerpt: string;
}

/** The listing form of a post, its excerpt made by `rendering`. */
export function summarize(post: Post, rendering: PostRendering): PostSummary {
  return { id: post.id, title: post.title, category: post.category, createdAt: post.createdAt, excerpt: rendering.excerpt(post) };
}

/** Links of a paged listing at `basePath`; page 1 is the bare path (one URL per page). */
export interface Pagination {
  page: number;
  pages: number;
  prevUrl: string | null;
  nextUrl: string | null;
}

/** The pagination of `result` for a listing at `basePath`. */
export function paginate(result: PostPage, basePath: string): Pagination {
  const url = (page: number) => (page === 1 ? basePath : `${basePath}?page=${page}`);
  return {
    page: result.page,
    pages: result.pages,
    prevUrl: result.page > 1 ? url(result.page - 1) : null,
    nextUrl: result.page < result.pages ? url(result.page + 1) : null,
  };
}

/** Loads the sidebar for a reader page (rendered by views/partials/sidebar.njk), memoized. */
export function loadSidebar(ctx: Context): Promise<Sidebar> {
  return ctx.services.caching.sidebar();
}
