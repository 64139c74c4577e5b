import { PER_PAGE } from './routes/pages.ts';
import type { PostService } from './services/posts.ts';

/** How many of the newest posts `cache:warm` renders. */
export const WARM_LATEST_POSTS = 20;

/**
 * The public pages worth having in the cache before readers arrive: every index page, every
 * category page, the feed, the about page, and the newest posts.
 */
export async function warmPaths(posts: PostService): Promise<string[]> {
  const index = await posts.listPublished({ page: 1, perPage: PER_PAGE });
  const paths = ['/', '/about', '/feed.xml', '/api/v1/posts'];
  for (let page = 2; page <= index.pages; page++) paths.push(`/?page=${page}`);
  for (const { name, count } of await posts.categories()) {
    const pages = Math.max(1, Math.ceil(count / PER_PAGE));
    for (let page = 1; page <= pages; page++) paths.push(page === 1 ? `/category/${name}` : `/category/${name}?page=${page}`);
  }
  for (const post of await posts.latest(WARM_LATEST_POSTS)) paths.push(`/posts/${post.id}`);
  return paths;
}
