/** The validators of the representation a GET or HEAD would send. */
export interface Validators {
  /** Strong entity tag, quotes included: `"abc"`. */
  etag: string;
  /** Modification time, in milliseconds since the epoch (HTTP dates have whole seconds). */
  lastModifiedMs: number;
}

/** The conditional headers of a request; absent ones undefined. */
export interface Conditions {
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/** One entity tag of a list, with what follows it: `W/` if weak, the quoted opaque tag, then `,` or the end. */
const ENTITY_TAG = /\s*(?:W\/)?("[^"]*")\s*(?:,|$)/y;

/**
 * The opaque tags (quotes included, `W/` dropped) an `If-None-Match` list names, or `'*'`;
 * undefined when the list is empty or malformed (the header is then ignored, as if absent).
 */
export function entityTags(header: string): readonly string[] | '*' | undefined {
  if (header.trim() === '') return undefined;
  if (header.trim() === '*') return '*';
  const tags: string[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < header.length) {
    const at = ENTITY_TAG.lastIndex;
    const match = ENTITY_TAG.exec(header);
    if (match === null) return header.slice(at).trim() === '' ? tags : undefined;
    tags.push(match[1] ?? '');
  }
  return tags;
}

/**
 * Whether a GET or HEAD may be answered `304 Not Modified`, evaluated as RFC 9110 §13.2.2 orders
 * it: `If-None-Match`, when present, decides alone, by weak comparison (§8.8.3.2: `W/"x"` matches
 * `"x"`; `*` matches any current representation); otherwise `If-Modified-Since` does, when it is
 * a date no earlier than the last modification (in whole seconds).
 */
export function notModified(conditions: Conditions, current: Validators): boolean {
  if (conditions.ifNoneMatch !== undefined) {
    const tags = entityTags(conditions.ifNoneMatch);
    if (tags !== undefined) return tags === '*' || tags.includes(opaque(current.etag));
  }
  if (conditions.ifModifiedSince === undefined) return false;
  const since = Date.parse(conditions.ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return Math.floor(current.lastModifiedMs / 1000) * 1000 <= since;
}

function opaque(etag: string): string {
  return etag.startsWith('W/') ? etag.slice(2) : etag;
}

/** `Last-Modified` for a time in milliseconds: an IMF-fixdate, whole seconds. */
export function httpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}
