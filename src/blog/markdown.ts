import { createHash } from 'node:crypto';
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { prepareMarkdown } from './markdown-nesting.ts';
import { cutText, markdownText } from './markdown-text.ts';

// One parser for the whole process; GitHub-flavoured Markdown, no raw-HTML trust: the output is
// always sanitized below, whatever the Markdown contained.
const marked = new Marked({ gfm: true, async: false });

/**
 * Changes whenever the HTML rendered from the same Markdown changes, so renderings memoized in a
 * shared cache by an older version are never served (src/blog/caching.ts puts it in the key).
 * 2: a body's headings start at h2.
 */
export const MARKDOWN_RENDERER_VERSION = 2;

// A body's headings sit under the page's own <h1> (the post title): every level moves down one,
// h6 staying h6. Done on the sanitized HTML, so headings written as raw HTML move too.
const HEADING_BELOW_TITLE: Readonly<Record<string, string>> = { h1: 'h2', h2: 'h3', h3: 'h4', h4: 'h5', h5: 'h6', h6: 'h6' };

const ALLOWED: sanitizeHtml.IOptions = {
  allowedTags: [
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 'del',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span', 'sup', 'sub',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    code: ['class'],
    th: ['align'],
    td: ['align'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  // Only these schemes survive: `javascript:`, `data:` and `vbscript:` URLs are dropped.
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener' }),
    ...HEADING_BELOW_TITLE,
  },
};

/** Markdown that cannot be turned into HTML: it nests too deeply, or marked failed on it. */
export class MarkdownError extends Error {
  override name = 'MarkdownError';
}

/**
 * Renders Markdown to HTML that is safe to embed: no scripts, event handlers or script URLs, and
 * headings from h2 down (the page's title is its h1). Throws a {@link MarkdownError} for
 * Markdown that cannot be rendered, whatever marked threw.
 */
export function renderMarkdown(markdown: string): string {
  return sanitizeHtml(parse(markdown), ALLOWED);
}

/**
 * marked's HTML for `markdown`. Nesting past the limit is refused before marked sees it, since
 * marked recurses once per level and would exhaust the stack; any other failure of marked (a
 * RangeError from deep emphasis, a TypeError on some malformed input) becomes a MarkdownError.
 */
function parse(markdown: string): string {
  const prepared = prepareMarkdown(markdown);
  if (prepared.problem !== undefined) throw new MarkdownError(prepared.problem);
  try {
    return marked.parse(prepared.text) as string;
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message.split('\n', 1)[0]}` : String(err);
    throw new MarkdownError(`marked failed on it (${reason}).`, { cause: err });
  }
}

/** A listing excerpt; `error` says why it is the Markdown's bare text rather than its rendering. */
export interface Excerpt {
  text: string;
  error?: MarkdownError;
}

/** How many excerpts {@link excerptOf} keeps in process (each a few hundred bytes). */
export const EXCERPT_MEMO_SIZE = 2000;

const excerpts = new Map<string, Excerpt>();
const excerptCounts = { hits: 0, misses: 0 };

/**
 * The listing excerpt of the Markdown: the plain text of its rendering without its headings and
 * code blocks (the prose; all of the text when there is no prose), cut at a word to `chars`
 * characters, or, when it cannot be rendered, its text with the markup stripped, cut the same way.
 * Memoized in process by a hash of the Markdown (at most {@link EXCERPT_MEMO_SIZE}, least recently
 * used out): rendering a 5 KB body to take 200 characters costs milliseconds, and every listing
 * shows ten of them. The key is the content itself, so an edited post can never get an old
 * excerpt, and a body that fails to render fails once.
 */
export function excerptOf(markdown: string, chars = 200): Excerpt {
  const key = `${chars}:${createHash('sha256').update(markdown).digest('base64url')}`;
  const known = excerpts.get(key);
  if (known !== undefined) {
    excerptCounts.hits += 1;
    excerpts.delete(key);
    excerpts.set(key, known);
    return known;
  }
  excerptCounts.misses += 1;
  const made = freshExcerpt(markdown, chars);
  excerpts.set(key, made);
  const oldest = excerpts.keys().next();
  if (excerpts.size > EXCERPT_MEMO_SIZE && !oldest.done) excerpts.delete(oldest.value);
  return made;
}

/** The text of {@link excerptOf}, with the memo inspectable. */
export const excerpt = Object.assign((markdown: string, chars = 200): string => excerptOf(markdown, chars).text, {
  /** The excerpt computed afresh, bypassing the memo. */
  uncached: (markdown: string, chars = 200): string => freshExcerpt(markdown, chars).text,
  /** Memo hits, misses and size since start, as Python's `lru_cache.cache_info()`. */
  cacheInfo: () => ({ ...excerptCounts, size: excerpts.size }),
});

function freshExcerpt(markdown: string, chars: number): Excerpt {
  try {
    const html = parse(markdown);
    return { text: cutText(htmlText(html, NOT_PROSE) || htmlText(html), chars) };
  } catch (err) {
    if (!(err instanceof MarkdownError)) throw err;
    return { text: cutText(markdownText(markdown), chars), error: err };
  }
}

// The only entities sanitize-html writes into text; each is decoded once, in one pass, so text
// that reads "&lt;" stays "&lt;" instead of becoming "<".
const ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

// Elements whose text an excerpt leaves out: headings repeat or announce the title, code is not prose.
const NOT_PROSE = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre'];
// What sanitize-html drops with its content by default; kept dropped when more is added.
const NEVER_TEXT = ['script', 'style', 'textarea', 'option'];

/** The text of HTML on one line, entities decoded, without the text of the `without` elements. */
function htmlText(html: string, without: readonly string[] = []): string {
  return sanitizeHtml(html, { allowedTags: [], allowedAttributes: {}, nonTextTags: [...NEVER_TEXT, ...without] })
    .replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity)
    .replace(/\s+/g, ' ')
    .trim();
}
