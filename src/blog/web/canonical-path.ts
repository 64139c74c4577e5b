/**
 * The one spelling of a request path that Kiln routes, guards and caches. The request frame
 * admits only paths in this form (src/app.ts) and answers every other one 404 before anything
 * reads it, so everything that reads `ctx.path` (early answers and page cache keys, the
 * toolbar's asset guard, the static files, the author's area, the routers) may compare it as
 * plain text.
 *
 * A canonical path is `/` or one or more `/segment`s where each segment
 * - is not empty (no doubled or trailing slash) and is not `.` or `..`;
 * - uses only RFC 3986 path characters (letters, digits, `-._~!$&'()*+,=:@`), never `;` (path
 *   parameters), `\`, spaces or raw non-ASCII;
 * - percent-encodes only what must be encoded, in upper-case hex (`%C3%A9`, `%20`): never a
 *   letter, digit or `-._~` (`/%61dmin`, `/%2e%2e`), never `/` or `\` (`%2F`, `%5C`), never a
 *   control character (`%00`…`%1F`, `%7F`).
 *
 * Letter case is kept, not folded (paths are case-sensitive, and some segments are data, like
 * the toolbar's request ids), so every router matches case-sensitively (routes/router.ts):
 * `/ADMIN` is a path of its own that no route serves.
 */
const SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-F]{2})+$/;
const NEEDLESS_OR_UNSAFE_ESCAPE = /%(?:[01][0-9A-F]|2[D-F]|3[0-9]|[46][1-9A-F]|[57][0-9A]|5[CF]|7[EF])/;

// The usual path in one test: segments of unreserved characters not starting with a dot.
const PLAIN = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;

/** Whether `path` (a request path as received, still percent-encoded) is in canonical form. */
export function isCanonicalPath(path: string): boolean {
  if (path === '/' || PLAIN.test(path)) return true;
  if (!path.startsWith('/')) return false;
  for (const segment of path.slice(1).split('/')) {
    if (segment === '.' || segment === '..' || !SEGMENT.test(segment) || NEEDLESS_OR_UNSAFE_ESCAPE.test(segment)) return false;
  }
  return true;
}
