import { createHash } from 'node:crypto';
import { BoundedMap } from './bounded-map.ts';
import { CACHE_DEFAULTS } from './defaults.ts';

/**
 * Collision-proof cache keys.
 *
 * A key is `namespace|` followed by one `length:part|` per part, where each part is the
 * {@link stableStringify} form of an argument, percent-escaped down to printable ASCII
 * (`%`, `|`, `#`, space and every non-ASCII or control character become `%XX` UTF-8 bytes, a lone
 * surrogate `%uXXXX`).
 * Escaping is injective and the length prefix fixes where each part ends, so two different
 * (namespace, parts) never share a key. A key that would be longer than {@link MAX_KEY_LENGTH}
 * keeps a readable head and ends in `#` plus the SHA-256 of the namespace and parts; `#` never
 * occurs in an unhashed key, so hashed and unhashed keys cannot meet either.
 *
 * Every key and channel name the library writes is built here, so the namespaces cannot collide:
 * `view`, `memo`, `fragment` and `fragment@` hold values; the reserved `__kiln:` namespaces hold
 * the library's own bookkeeping (tag versions, locks, the coherence counter, the health probe).
 */

/** The longest key this module returns. */
export const MAX_KEY_LENGTH = 200;

const HASH_LENGTH = 64;
const HEAD_LENGTH = MAX_KEY_LENGTH - HASH_LENGTH - 1;
const UNSAFE = /[^\x21-\x7e]|[%|#]/gu;

const ASCII_ESCAPES = Array.from({ length: 128 }, (_, code) => `%${code.toString(16).toUpperCase().padStart(2, '0')}`);

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  if (code < 128) return ASCII_ESCAPES[code];
  // A lone surrogate has no UTF-8 form; `%u` + its code keeps it apart from U+FFFD.
  if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) return `%u${code.toString(16).toUpperCase()}`;
  return encodeURIComponent(char);
}

function escapePart(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * Builds a key from a namespace and any parts with a stable form, e.g.
 * `makeKey('post', 3)` → `post|1:3|` and `makeKey('post', '3')` → `post|3:"3"|`.
 */
export function makeKey(namespace: string, ...parts: unknown[]): string {
  const texts = parts.map(stableStringify);
  let rawLength = namespace.length + 1;
  for (const text of texts) rawLength += text.length + 2;
  // Escaping only lengthens, so a long input goes straight to hashing without escaping all of it.
  if (rawLength <= MAX_KEY_LENGTH) {
    const key = escapedKey(namespace, texts, Number.POSITIVE_INFINITY);
    if (key.length <= MAX_KEY_LENGTH) return key;
  }
  // The digest covers a JSON array of the texts (injective); `#` marks it, unhashed keys never hold one.
  const digest = createHash('sha256').update(JSON.stringify([namespace, ...texts])).digest('hex');
  return `${escapedKey(namespace, texts, HEAD_LENGTH).slice(0, HEAD_LENGTH)}#${digest}`;
}

/** The escaped, length-prefixed key, built only until it reaches about `limit` characters. */
function escapedKey(namespace: string, texts: readonly string[], limit: number): string {
  let key = `${escapePart(namespace.slice(0, limit))}|`;
  for (const text of texts) {
    if (key.length >= limit) break;
    const escaped = escapePart(text.slice(0, limit));
    key += `${escaped.length}:${escaped}|`;
  }
  return key;
}

/** The query string in canonical form: parameters sorted by name, repeated names kept in order. */
export function canonicalQuery(query: URLSearchParams | string): string {
  const params = new URLSearchParams(query);
  params.sort();
  return params.toString();
}

/** Options of {@link viewKey}. */
export interface ViewKeyOptions {
  /**
   * Which query parameters are part of the key, canonicalised (parameter order does not matter):
   * `false` none, `true` all of them, or the names of the parameters the page reads — any other
   * parameter is dropped, so junk parameters cannot multiply one page into many keys.
   */
  queryString: boolean | readonly string[];
}

/**
 * The key of a cached page: a caller's prefix, the request path and, unless `queryString` is
 * false, the {@link keyedQuery}, e.g. `viewKey('view', '/posts', '?page=2&utm=x', { queryString: ['page'] })`.
 */
export function viewKey(
  prefix: string,
  path: string,
  query: URLSearchParams | string | undefined,
  options: ViewKeyOptions,
): string {
  const { queryString } = options;
  if (queryString === false) return makeKey('view', prefix, path);
  return makeKey('view', prefix, path, keyedQuery(query ?? '', queryString));
}

/**
 * The key a cached page's body is stored under: its strong ETag, so equal bodies share one entry
 * and the bytes under a key never change.
 */
export function pageBodyKey(etag: string): string {
  return makeKey('view-body', etag);
}

/**
 * The part of a query a page key holds: the canonical query (see {@link canonicalQuery}), with a
 * list of names only the parameters so named, repeated ones kept in order; e.g.
 * `keyedQuery('b=2&page=3&a=1', ['page'])` → `page=3`.
 */
export function keyedQuery(query: URLSearchParams | string, queryString: true | readonly string[]): string {
  const params = new URLSearchParams(query);
  if (queryString === true) {
    params.sort();
    return params.toString();
  }
  const kept = new URLSearchParams();
  for (const [name, value] of params) if (queryString.includes(name)) kept.append(name, value);
  kept.sort();
  return kept.toString();
}

/** The key of an unnamed `<% cache %>` fragment: its template and the tag's line and column, plus the vary values. */
export function positionalFragmentKey(template: string, line: number, column: number, varyOn: readonly unknown[]): string {
  return makeKey('fragment@', template, line, column, varyOn);
}

/** The key of one memoized call: function name, the function's current version and its arguments. */
export function memoKey(fnName: string, version: string | number, args: readonly unknown[]): string {
  return makeKey('memo', fnName, String(version), args);
}

/**
 * The key of a template fragment, public so code can invalidate the same entry the
 * `<% cache %>` tag stores, e.g. `cache.delete(fragmentKey('sidebar', []))`.
 */
export function fragmentKey(name: string, varyOn: readonly unknown[]): string {
  return makeKey('fragment', name, varyOn);
}

/**
 * A deterministic text form of a value for use in keys: object keys sorted, types kept apart
 * (`3` vs `"3"`, `null` vs `undefined`), Dates, Buffers, bigints, Maps and Sets supported, and
 * objects with a `cacheId` (property or method) or `toJSON` represented by it. Throws a TypeError
 * naming the place for values with no stable form: functions, symbols, circular structures and
 * class instances with neither `cacheId` nor `toJSON`. Object properties whose value is
 * `undefined` are left out, as in JSON.
 */
export function stableStringify(value: unknown): string {
  return stringifyAt(value, 'value', new Set());
}

function stringifyAt(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'undefined';
    case 'function':
    case 'symbol':
      throw new TypeError(`no stable cache key for a ${typeof value} at ${path}`);
  }
  if (value === null) return 'null';
  const object = value as object;
  if (seen.has(object)) throw new TypeError(`no stable cache key for a circular structure at ${path}`);
  seen.add(object);
  try {
    return stringifyObject(object, path, seen);
  } finally {
    seen.delete(object);
  }
}

function stringifyObject(object: object, path: string, seen: Set<object>): string {
  if (object instanceof Date) return `Date(${Number.isNaN(object.getTime()) ? 'NaN' : object.toISOString()})`;
  if (object instanceof Uint8Array) {
    return `Bytes(${Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64')})`;
  }
  if (Array.isArray(object)) {
    return `[${object.map((item, i) => stringifyAt(item, `${path}[${i}]`, seen)).join(',')}]`;
  }
  const record = object as Record<string, unknown>;
  if ('cacheId' in object) {
    const id = typeof record.cacheId === 'function' ? (record.cacheId as () => unknown).call(object) : record.cacheId;
    return `${JSON.stringify(object.constructor?.name ?? 'Object')}#${stringifyAt(id, `${path}.cacheId`, seen)}`;
  }
  if (object instanceof Map) {
    const entries = Array.from(object, ([k, v], i) => [
      stringifyAt(k, `${path}<key ${i}>`, seen),
      stringifyAt(v, `${path}<value ${i}>`, seen),
    ]);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `Map{${entries.map(([k, v]) => `${k}=>${v}`).join(',')}}`;
  }
  if (object instanceof Set) {
    const items = Array.from(object, (item, i) => stringifyAt(item, `${path}<item ${i}>`, seen)).sort();
    return `Set{${items.join(',')}}`;
  }
  if (typeof record.toJSON === 'function') {
    return stringifyAt((record.toJSON as () => unknown).call(object), `${path}.toJSON()`, seen);
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const name = object.constructor?.name ?? 'unknown class';
    throw new TypeError(`no stable cache key for an instance of ${name} at ${path}: give it a cacheId or toJSON`);
  }
  const keys = Object.keys(record).sort();
  const fields: string[] = [];
  for (const key of keys) {
    if (record[key] === undefined) continue;
    fields.push(`${JSON.stringify(key)}:${stringifyAt(record[key], `${path}.${key}`, seen)}`);
  }
  return `{${fields.join(',')}}`;
}

const TAG_NAMESPACE = '__kiln:tag';
/** How every tag key starts (the namespace needs no escaping). */
const TAG_KEY_HEAD = `${TAG_NAMESPACE}|`;

/** Tag keys already built (a hit checks its tags on every read), the first built going first. */
const tagKeys = new BoundedMap<string, string>({ maxEntries: CACHE_DEFAULTS.tagKeyMemoEntries });

/** The backend key holding a tag's current version (see tags.ts). */
export function tagKey(tag: string): string {
  let key = tagKeys.get(tag);
  if (key === undefined) {
    key = makeKey(TAG_NAMESPACE, tag);
    tagKeys.set(tag, key);
  }
  return key;
}

/**
 * Whether a backend key holds a version (of a tag, or of a memoized function, which is a tag
 * too): writing one is an invalidation, which the near cache confirms with every process.
 */
export function isVersionKey(key: string): boolean {
  return key.startsWith(TAG_KEY_HEAD);
}

/** The version tag behind a memoized function's keys (see memoize.ts). */
export function memoVersionTag(name: string): string {
  return `__kiln:memo:${name}`;
}

/** The backend key of the distributed single-flight lock guarding `key`'s computation. */
export function lockKey(key: string): string {
  return makeKey('__kiln:lock', key);
}

/** The key the health check probes; it is never written. */
export const HEALTH_PROBE_KEY = '__kiln:health';

/** The counter that numbers coherence announcements, under the cache's prefix. */
export const COHERENCE_SEQUENCE_KEY = '__kiln:coherence|seq';

/** The coherence channels of a scope (the key prefix), and a process's own confirmation channel. */
export interface CoherenceChannels {
  /** Where announcements go. */
  bus: string;
  /** Where the process `origin` hears confirmations of its announcements. */
  ack: (origin: string) => string;
  /** This process's own confirmation channel. */
  mine: string;
}

/** The channels of a scope for the process `id`; one hash tag keeps them in one Cluster shard. */
export function coherenceChannels(scope: string, id: string): CoherenceChannels {
  const tag = createHash('sha256').update(scope).digest('hex').slice(0, 16);
  const base = `kiln:coherence:{${tag}}`;
  const ack = (origin: string): string => `${base}:ack:${origin}`;
  return { bus: `${base}:bus`, ack, mine: ack(id) };
}
