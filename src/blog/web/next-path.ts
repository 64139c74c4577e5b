import { isCanonicalPath } from './canonical-path.ts';

/** Longest `next` target accepted, in characters. */
export const NEXT_MAX = 2048;

// Where resolving a target must stay: a path that leaves it names another site.
const PLACEHOLDER_ORIGIN = 'http://kiln.invalid';

/**
 * The page to return to after signing in, if `raw` is a safe one: a path on this site, in the
 * canonical form the routers serve (web/canonical-path.ts), with an optional query. Anything that
 * a browser could read as another site is refused (undefined): `//evil`, `/\evil`, `https://…`,
 * a scheme or a host in any spelling, encoded slashes or backslashes (`/%2F…`, `/%5C…`), control
 * characters, spaces, a fragment; so are `/login` and `/logout`, which would only loop.
 *
 * @example
 * safeNextPath('/admin/posts/3/edit'); // '/admin/posts/3/edit'
 * safeNextPath('//evil.example');      // undefined
 */
export function safeNextPath(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > NEXT_MAX) return undefined;
  // Printable ASCII only; browsers treat `\` as `/` and drop tabs and newlines inside URLs.
  if (!/^[\x21-\x7e]+$/.test(raw) || raw.includes('\\') || raw.includes('#')) return undefined;
  if (!raw.startsWith('/') || raw.startsWith('//')) return undefined;
  const query = raw.indexOf('?');
  const path = query === -1 ? raw : raw.slice(0, query);
  if (!isCanonicalPath(path) || path === '/login' || path === '/logout') return undefined;
  let resolved: URL;
  try {
    resolved = new URL(raw, PLACEHOLDER_ORIGIN);
  } catch {
    return undefined;
  }
  return resolved.origin === PLACEHOLDER_ORIGIN ? raw : undefined;
}

/** The login form's address, asking to return to `next` afterwards (`/login?next=/admin/posts/3/edit`). */
export function loginUrl(next?: string): string {
  const safe = safeNextPath(next);
  // Slashes may stay as they are in a query; the address then reads like the path it carries.
  return safe === undefined ? '/login' : `/login?next=${encodeURIComponent(safe).replace(/%2F/g, '/')}`;
}
