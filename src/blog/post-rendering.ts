import { excerptOf, MarkdownError, renderMarkdown } from './markdown.ts';
import type { Logger } from './seed.ts';
import type { Post } from './services/posts.ts';

/** What identifies one version of a post's body. */
export type PostBody = Pick<Post, 'id' | 'version' | 'updatedAt' | 'body'>;

/** How many post versions that failed to render are remembered, so each is logged once. */
export const LOGGED_FAILURES_SIZE = 1000;

/**
 * A post's body as readers see it, whatever its Markdown holds. Validation refuses Markdown that
 * cannot be rendered, but a post stored before a rule existed, or written straight into the
 * database, may still fail: then its page says so and shows its text as written, and listings
 * show its bare text, so one post never takes a page, a listing, the feed or the API down.
 * Each failing version is logged once, not on every request.
 */
export class PostRendering {
  private readonly logged = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** The body as sanitized HTML, or a notice that it could not be rendered followed by its Markdown. */
  html(post: PostBody): string {
    try {
      return renderMarkdown(post.body);
    } catch (err) {
      if (!(err instanceof MarkdownError)) throw err;
      this.failed(post, err);
      return (
        '<p class="render-failed">This post could not be rendered. Its text follows as it was written.</p>\n' +
        `<pre class="post-source">${escapeHtml(post.body)}</pre>\n`
      );
    }
  }

  /** The listing excerpt: the rendered text, or the Markdown without its markup when it cannot be rendered. */
  excerpt(post: PostBody): string {
    const made = excerptOf(post.body);
    if (made.error !== undefined) this.failed(post, made.error);
    return made.text;
  }

  private failed(post: PostBody, err: MarkdownError): void {
    const version = `${post.id}@${post.version}@${post.updatedAt.getTime()}`;
    if (this.logged.has(version)) return;
    this.logged.add(version);
    const oldest = this.logged.values().next();
    if (this.logged.size > LOGGED_FAILURES_SIZE && !oldest.done) this.logged.delete(oldest.value);
    this.logger.warn(`post ${post.id} (version ${post.version}) could not be rendered: ${err.message}; readers see its text instead`);
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
