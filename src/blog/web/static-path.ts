import { join } from 'node:path';

/**
 * A name a URL may give to a folder or file under the static root: lower-case letters, digits,
 * `-`, `_` and dots, not starting with a dot. So no dot file, no `.` or `..`, no separator of any
 * kind (`/`, `\`, a percent escape), no NUL, and no other letter case of a name (which a
 * case-insensitive file system would serve under a spelling the toolbar's asset guard misses).
 */
const NAME = /^[a-z0-9_-][a-z0-9._-]*$/;

/** Hex digits of a file's content hash in its hashed URL. */
export const URL_HASH_LENGTH = 8;

/** A hashed file name: the stem, the hash, then the extension (`site.3f9a1c2b.css`). */
const HASHED = new RegExp(`^(.+)\\.([0-9a-f]{${URL_HASH_LENGTH}})(\\.[a-z0-9]+)$`);

/** A plain file name with an extension, split where a hash goes (`site` + `.css`). */
const EXTENSION = /^(.+)(\.[a-z0-9]+)$/;

/** Whether `relative` is one or more {@link NAME}s joined by single slashes. */
export function isPlainPath(relative: string): boolean {
  return relative.split('/').every((name) => NAME.test(name));
}

/**
 * The file that `relative` (the URL path after the prefix, still percent-encoded) names under
 * `base`, or undefined unless it is one or more {@link NAME}s joined by single slashes. An
 * absolute path, an empty segment or `..` is refused here, before the file system is asked.
 */
export function staticFile(base: string, relative: string): string | undefined {
  return isPlainPath(relative) ? join(base, ...relative.split('/')) : undefined;
}

/**
 * `relative` with `hash` before its last extension: `css/site.css` → `css/site.3f9a1c2b.css`;
 * undefined for a name without an extension (no served file lacks one).
 */
export function hashedPath(relative: string, hash: string): string | undefined {
  const slash = relative.lastIndexOf('/');
  const match = EXTENSION.exec(relative.slice(slash + 1));
  if (match === null) return undefined;
  const [, stem, extension] = match;
  return `${relative.slice(0, slash + 1)}${stem}.${hash}${extension}`;
}

/** A static URL path after the prefix, read: the file it names, and the hash it carries if any. */
export interface AssetPath {
  /** The file's path under the root, hash removed: `css/site.css`. */
  relative: string;
  /** The hash the URL carried (`3f9a1c2b`), undefined for a plain URL. */
  hash?: string;
}

/**
 * Reads a static URL path (after the prefix): undefined unless it is plain names
 * ({@link isPlainPath}); a last name of the hashed shape (`name.<8 hex>.ext`) names `name.ext`
 * with that hash, so a file whose own name has that shape is reachable only through its hashed
 * URL.
 */
export function parseAssetPath(relative: string): AssetPath | undefined {
  if (!isPlainPath(relative)) return undefined;
  const slash = relative.lastIndexOf('/');
  const match = HASHED.exec(relative.slice(slash + 1));
  if (match === null) return { relative };
  const [, stem, hash, extension] = match;
  return { relative: `${relative.slice(0, slash + 1)}${stem}${extension}`, hash };
}
