import { createHash } from 'node:crypto';
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

// One parser for the whole process; GitHub-flavoured Markdown, no raw-HTML trust: the output is
// always sanitized below, whatever the Markdown contained.
const marked = new Marked({ gfm: true, async: false });

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
  },
};

/** Renders Markdown to HTML that is safe to embed: no scripts, event handlers or script URLs. */
export function renderMarkdown(markdown: string): string {
  return sanitizeHtml(marked.parse(markdown) as string, ALLOWED);
}

/** How many excerpts {@link excerpt} keeps in process (each a few hundred bytes). */
export const EXCERPT_MEMO_SIZE = 2000;

const excerpts = new Map<string, string>();
const excerptCounts = { hits: 0, misses: 0 };

/**
 * Plain text of the Markdown's first `chars` characters, cut at a word, for listings.
 * Memoized in process by a hash of the Markdown (at most {@link EXCERPT_MEMO_SIZE}, least recently
 * used out): rendering a 5 KB body to take 200 characters costs milliseconds, and every listing
 * shows ten of them (issue 6's profile of the uncached index). The key is the content itself, so
 * an edited post can never get an old excerpt.
 */
export const excerpt = Object.assign(
  function excerpt(markdown: string, chars = 200): string {
    const key = `${chars}:${createHash('sha256').update(markdown).digest('base64url')}`;
    const known = excerpts.get(key);
    if (known !== undefined) {
      excerptCounts.hits += 1;
      excerpts.delete(key);
      excerpts.set(key, known);
      return known;
    }
    excerptCounts.misses += 1;
    const text = plainExcerpt(markdown, chars);
    excerpts.set(key, text);
    const oldest = excerpts.keys().next();
    if (excerpts.size > EXCERPT_MEMO_SIZE && !oldest.done) excerpts.delete(oldest.value);
    return text;
  },
  {
    /** The excerpt computed afresh, bypassing the memo. */
    uncached: plainExcerpt,
    /** Memo hits, misses and size since start, as Python's `lru_cache.cache_info()`. */
    cacheInfo: () => ({ ...excerptCounts, size: excerpts.size }),
  },
);

function plainExcerpt(markdown: string, chars = 200): string {
  const html = marked.parse(markdown) as string;
  const text = sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} })
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= chars) return text;
  const cut = text.slice(0, chars);
  const space = cut.lastIndexOf(' ');
  return `${(space > chars * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
