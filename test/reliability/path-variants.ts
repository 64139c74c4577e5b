/**
 * Other spellings of a path: request targets a client can send that some server, proxy, file
 * system or router would take for the same path (letter case, percent-encoded characters,
 * trailing and doubled slashes, `;params`, dot segments, encoded slashes, dots and backslashes,
 * NUL, fragments, absolute-form). Meant to be sent raw (raw-http.ts): HTTP client libraries
 * would normalise several of them away.
 */

function escape(char: string, upper = true): string {
  const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex}`;
}

function mixedCase(text: string): string {
  return [...text].map((c, i) => (i % 2 === 1 ? c.toUpperCase() : c.toLowerCase())).join('');
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `parts` with `at` replaced by `value`. */
function replaced(parts: readonly string[], at: number, value: string): string[] {
  return parts.map((part, i) => (i === at ? value : part));
}

/** `parts` with `values` inserted before index `at`. */
function inserted(parts: readonly string[], at: number, ...values: string[]): string[] {
  return [...parts.slice(0, at), ...values, ...parts.slice(at)];
}

/**
 * Every variant spelling of `path` (canonical: `/` followed by non-empty segments), without
 * `path` itself, `site` being the origin used for absolute-form targets.
 *
 * @example
 * pathVariants('/admin') // ['/ADMIN', '/aDmIn', '/Admin', '/%61dmin', '/admin/', '//admin', '/admin;x=1', '/x/../admin', …]
 */
export function pathVariants(path: string, site = 'http://kiln.test'): string[] {
  const segments = path === '/' ? [] : path.slice(1).split('/');
  const spell = (parts: readonly string[]): string => `/${parts.join('/')}`;
  const variants = new Set<string>();
  // A target whose path part is `path` itself (e.g. `/?x=1` for `/`) is no other spelling.
  const add = (target: string): void => void (target.replace(site, '').split(/[?#]/)[0] !== path && variants.add(target));

  // Letter case, whole and per segment.
  add(path.toUpperCase());
  add(mixedCase(path));
  segments.forEach((segment, i) => {
    add(spell(replaced(segments, i, capitalised(segment))));
    add(spell(replaced(segments, i, segment.toUpperCase())));
    add(spell(replaced(segments, i, mixedCase(segment))));
  });

  // Percent-encoded characters that need no encoding (upper- and lower-case hex).
  segments.forEach((segment, i) => {
    add(spell(replaced(segments, i, escape(segment.charAt(0)) + segment.slice(1))));
    add(spell(replaced(segments, i, escape(segment.charAt(0), false) + segment.slice(1))));
    add(spell(replaced(segments, i, [...segment].map((c) => escape(c)).join(''))));
  });
  add([...path].map((c) => (c === '/' ? c : escape(c, false))).join(''));

  // Trailing, leading and doubled slashes.
  add(`${path}/`);
  add(`${path}//`);
  add(`/${path}`);
  add(`///${path.slice(1)}`);
  for (let i = 1; i < segments.length; i++) add(spell(inserted(segments, i, '')));

  // Path parameters.
  segments.forEach((segment, i) => {
    add(spell(replaced(segments, i, `${segment};x=1`)));
    add(spell(replaced(segments, i, `${segment};`)));
  });

  // Dot segments, raw and encoded.
  for (const dot of ['.', '%2e', '%2E']) {
    add(`/${dot}${path}`);
    for (let i = 1; i <= segments.length; i++) add(spell(inserted(segments, i, dot)));
  }
  for (const dots of ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.']) {
    add(`/x/${dots}${path}`);
    add(`/${dots}${path}`);
    for (let i = 1; i <= segments.length; i++) add(spell(inserted(segments, i, 'x', dots)));
  }

  // Separators: encoded slashes and backslashes, raw backslashes.
  for (const separator of ['%2F', '%2f', '%5C', '%5c', '\\']) {
    for (let i = 1; i < segments.length; i++) add(`/${segments.slice(0, i).join('/')}${separator}${segments.slice(i).join('/')}`);
    add(`/${separator}${path.slice(1)}`);
    add(`${path}${separator}`);
  }
  // (A target starting with a backslash is refused by Node's HTTP parser with a 400.)

  // NUL and other bytes a file system or C library may stop at.
  add(`${path}%00`);
  add(`${path}%00.css`);
  add(`${path}%20`);
  add(`${path}%09`);

  // Fragments, query strings and absolute-form targets around other spellings.
  add(`${path.toUpperCase()}#x`);
  add(`${path.toUpperCase()}?x=1`);
  add(`${site}${path.toUpperCase()}`);
  add(`${site}${mixedCase(path)}`);
  add(`${site}${path}/`);
  add(`${site}/x/..${path}`);

  // Combinations.
  add(`${path.toUpperCase()}/`);
  add(`/x/..${path.toUpperCase()}`);
  add(`/.${mixedCase(path)}/`);
  add(`/${mixedCase(path)};x`);
  return [...variants];
}
