import { excerptOf, MarkdownError, renderMarkdown } from './markdown.ts';
import type { Logger } from '../log.ts';
import type { Post } from './services/posts.ts';

/** What identifies one version of a post's body. */
export type PostBody = Pick<Post, 'id' | 'version' | 'updatedAt' | 'body'>;

/** How many post versions that failed to render are remembered, so each is rendered and logged once. */
export const REMEMBERED_FAILURES = 1000;

/**
 * A post's body as readers see it, whatever its Markdown holds. Validation refuses Markdown that
 * nests too deeply, but a post stored before the rule, written straight into the database, or
 * tripping over a fault of marked may still fail to render: then its page says so and shows its
 * text as written, and listings show its bare text, so one post never takes a page, a listing,
 * the feed or the API down. A failing version is logged once and not rendered again (up to
 * {@link REMEMBERED_FAILURES} versions; a failure can cost marked a second before it gives up).
 */
export class PostRendering {
  private readonly failed = new Set<string>();

  /** `render` turns Markdown into sanitized HTML (default {@link renderMarkdown}; a test counts its calls). */
  constructor(
    private readonly logger: Logger,
    private readonly render: (markdown: string) => string = renderMarkdown,
  ) {}

  /** The body as sanitized HTML, or a notice that it could not be rendered followed by its Markdown. */
  html(post: PostBody): string {
    if (this.failed.has(versionOf(post))) return failureNotice(post);
    try {
      return this.render(post.body);
    } catch (err) {
      if (!(err instanceof MarkdownError)) throw err;
      this.fail(post, err);
      return failureNotice(post);
    }
  }

  /** The listing excerpt: the rendered text, or the Markdown without its markup when it cannot be rendered. */
  excerpt(post: PostBody): string {
    const made = excerptOf(post.body);
    if (made.error !== undefined) this.fail(post, made.error);
    return made.text;
  }

  private fail(post: PostBody, err: MarkdownError): void {
    const version = versionOf(post);
    if (this.failed.has(version)) return;
    this.failed.add(version);
    const oldest = this.failed.values().next();
    if (this.failed.size > REMEMBERED_FAILURES && !oldest.done) this.failed.delete(oldest.value);
    this.logger.warn(`post ${post.id} (version ${post.version}) could not be rendered: ${err.message} Readers see its text instead.`);
  }
}

function versionOf(post: PostBody): string {
  return `${post.id}@${post.version}@${post.updatedAt.getTime()}`;
}

function failureNotice(post: PostBody): string {
  return (
    '<p class="render-failed">This post could not be rendered. Its text follows as it was written.</p>\n' +
    `<pre class="post-source">${escapeHtml(post.body)}</pre>\n`
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
