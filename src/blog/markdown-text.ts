/**
 * Plain text from Markdown without parsing it: what a listing shows of a post whose Markdown
 * cannot be rendered. Every pattern is a bounded, non-nested scan, so the whole is linear in the
 * text whatever it holds.
 */

// A line's leading blockquote and list markers, heading hashes, and fence or rule lines.
const LINE_PREFIX = /^[ \t]*(?:(?:>|[-+*](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$))[ \t]*)*(?:#{1,6}(?=[ \t]|$))?/gm;
const FENCE_OR_RULE = /^[ \t]*(?:`{3,}|~{3,}|(?:[-*_][ \t]*){3,}$).*$/gm;
// Images and links keep their text; `[^[\]]` and `[^()]` stop at the next bracket, so no scan repeats.
const IMAGE_OR_LINK = /!?\[([^[\]\n]*)\]\([^()\n]*\)/g;
const HTML_TAG = /<\/?[A-Za-z][^<>\n]*>/g;
const EMPHASIS = /(?<!\\)(?:[*~`]+|(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9]))/g;
const ESCAPE = /\\([!-/:-@[-`{-~])/g;

/** The text of `markdown` with its markup stripped, on one line. */
export function markdownText(markdown: string): string {
  return markdown
    .replace(FENCE_OR_RULE, ' ')
    .replace(LINE_PREFIX, '')
    .replace(IMAGE_OR_LINK, '$1')
    .replace(HTML_TAG, ' ')
    .replace(EMPHASIS, '')
    .replace(ESCAPE, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `text` cut to at most `chars` characters, at a word when one ends late enough, with an ellipsis. */
export function cutText(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const cut = text.slice(0, chars);
  const space = cut.lastIndexOf(' ');
  return `${(space > chars * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
