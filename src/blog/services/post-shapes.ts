// The shapes of posts that the post service and its helpers (listing, batch inserts) share.
import type { PostRow } from '../entities/post.ts';

/** A post as the rest of the blog sees it. */
export type Post = PostRow;

/** What the author submits for a post. */
export interface PostInput {
  title: string;
  body: string;
  category: string;
  published: boolean;
}

/** One page of posts. `pages` is at least 1, so an empty blog still has page 1. */
export interface PostPage {
  posts: Post[];
  page: number;
  pages: number;
  total: number;
}

/** A post to create in a batch, with its slug already chosen (free) and optionally its id. */
export interface NewPost {
  input: PostInput;
  createdAt: Date;
  slug: string;
  id?: number;
}
