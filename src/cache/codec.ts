/**
 * The cache's storage format: versioned JSON, data never code.
 *
 * - A safe integer stored without tags is its bare decimal string (`"42"`), so backend counters
 *   (Redis `INCRBY`) work on values written by `set()`; a bare `/^-?\d+$/` string decodes as a number.
 * - Everything else is an envelope, always starting with `{"k":1`:
 *   `{"k":1[,"e":1][,"n":1][,"t":{tag:version,…}],"v":<json>}`
 *   - `k` the format version; any other version is corrupt;
 *   - `e` present when the JSON holds tagged values (below) and must be revived;
 *   - `n` marks a cached "not found" (negative caching); `v` is then `null` or absent (`undefined`);
 *   - `t` the tag versions the entry was stored under (see tags.ts);
 *   - `v` the value as JSON.
 * - Values JSON cannot carry are tagged objects with the reserved key `$`: `{"$":"b","d":base64}`
 *   for a Buffer/Uint8Array (decoded as a Buffer), `{"$":"d","d":iso|null}` for a Date,
 *   `{"$":"n","d":"123"}` for a bigint. A user object key starting with `$` gains one more `$`
 *   when stored and loses it when read, so user data can never look like a tag.
 * - Other values follow JSON's rules (`toJSON` honoured, functions inside objects dropped,
 *   class instances stored as plain data).
 */

/** The envelope format version written by this codec. */
export const CODEC_VERSION = 1;

/**
 * Longest stored string (in UTF-16 code units) the cache writes or reads: anything longer is
 * not stored, and read as corrupt (a miss, deleted, counted), so a huge entry put into the
 * backend from outside never stalls a request decoding it.
 */
export const MAX_ENTRY_LENGTH = 16 * 1024 * 1024;

/** Tag name → the tag's version when the entry was stored. */
export type TagVersions = Record<string, string>;

/** What a stored string decodes to. */
export type DecodedEntry =
  | { kind: 'value'; value: unknown; tags?: TagVersions }
  | { kind: 'notFound'; value: null | undefined; tags?: TagVersions };

/** Thrown when a stored string is not a valid entry of this format version. */
export class CorruptEntryError extends Error {
  override readonly name = 'CorruptEntryError';
}

const INTEGER = /^-?\d+$/;
const HEAD = `{"k":${CODEC_VERSION}`;
const REVIVE_HEAD = `${HEAD},"e":1`;

let sawSpecial = false;

function replacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) {
    sawSpecial = true;
    return { $: 'b', d: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  }
  if (raw instanceof Date) {
    sawSpecial = true;
    return { $: 'd', d: Number.isNaN(raw.getTime()) ? null : raw.toISOString() };
  }
  if (typeof value === 'bigint') {
    sawSpecial = true;
    return { $: 'n', d: value.toString() };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return escapeKeys(value as Record<string, unknown>);
  }
  return value;
}

function escapeKeys(object: Record<string, unknown>): Record<string, unknown> {
  let needs = false;
  for (const k of Object.keys(object)) {
    if (k.charCodeAt(0) === 36 /* $ */) {
      needs = true;
      break;
    }
  }
  if (!needs) return object;
  sawSpecial = true;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) out[k.charCodeAt(0) === 36 ? `$${k}` : k] = v;
  return out;
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const object = value as Record<string, unknown>;
  if (Object.hasOwn(object, '$')) return reviveTagged(object);
  let escaped = false;
  for (const k of Object.keys(object)) {
    if (k.charCodeAt(0) === 36) {
      escaped = true;
      break;
    }
  }
  if (!escaped) return object;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) out[k.charCodeAt(0) === 36 ? k.slice(1) : k] = v;
  return out;
}

function reviveTagged(object: Record<string, unknown>): unknown {
  const data = object.d;
  switch (object.$) {
    case 'b':
      if (typeof data === 'string') return Buffer.from(data, 'base64');
      break;
    case 'd':
      if (data === null) return new Date(Number.NaN);
      if (typeof data === 'string') return new Date(data);
      break;
    case 'n':
      if (typeof data === 'string' && INTEGER.test(data)) return BigInt(data);
      break;
  }
  throw new CorruptEntryError(`unknown tagged value ${JSON.stringify(object.$)}`);
}

function stringify(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value, replacer);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new TypeError(`cannot cache ${what}: ${reason}`);
  }
  if (json === undefined) throw new TypeError(`cannot cache ${what}: a ${typeof value} has no data form`);
  return json;
}

function envelope(body: string | undefined, bodySpecial: boolean, notFound: boolean, tags?: TagVersions): string {
  sawSpecial = false;
  const tagJson = tags === undefined ? undefined : stringify(tags, 'the tag versions');
  let out = bodySpecial || sawSpecial ? REVIVE_HEAD : HEAD;
  if (notFound) out += ',"n":1';
  if (tagJson !== undefined) out += `,"t":${tagJson}`;
  if (body !== undefined) out += `,"v":${body}`;
  return `${out}}`;
}

/**
 * Encodes a value for storage. Throws a TypeError for `undefined` (the cache's only "miss") and
 * for values with no data form (a function, a symbol, a circular structure).
 */
export function encodeValue(value: unknown, tags?: TagVersions): string {
  if (value === undefined) throw new TypeError('cannot cache undefined: it means "miss"; store null instead');
  if (typeof value === 'number' && Number.isSafeInteger(value) && tags === undefined) return String(value);
  if (typeof value === 'string' && tags === undefined) return `${HEAD},"v":${JSON.stringify(value)}}`;
  sawSpecial = false;
  const body = stringify(value, 'this value');
  return envelope(body, sawSpecial, false, tags);
}

/** Encodes the "not found" marker of negative caching, remembering whether it was `null` or `undefined`. */
export function encodeNotFound(value: null | undefined, tags?: TagVersions): string {
  return envelope(value === null ? 'null' : undefined, false, true, tags);
}

/** Decodes a stored string; throws {@link CorruptEntryError} for anything this version did not write. */
export function decodeEntry(raw: string): DecodedEntry {
  if (raw.length > MAX_ENTRY_LENGTH) throw new CorruptEntryError(`entry of ${raw.length} characters is longer than ${MAX_ENTRY_LENGTH}`);
  if (INTEGER.test(raw)) return { kind: 'value', value: Number(raw) };
  if (!raw.startsWith(HEAD)) throw new CorruptEntryError('not a cache entry of this format version');
  let parsed: unknown;
  try {
    parsed = raw.startsWith(REVIVE_HEAD) ? JSON.parse(raw, reviver) : JSON.parse(raw);
  } catch (error) {
    if (error instanceof CorruptEntryError) throw error;
    throw new CorruptEntryError(`unreadable entry: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CorruptEntryError('entry is not an envelope');
  }
  const entry = parsed as Record<string, unknown>;
  if (entry.k !== CODEC_VERSION) throw new CorruptEntryError(`entry format version ${String(entry.k)}`);
  const tags = readTags(entry.t);
  if (entry.n === 1) {
    if (entry.v !== undefined && entry.v !== null) throw new CorruptEntryError('not-found marker with a value');
    const value = entry.v === null ? null : undefined;
    return tags ? { kind: 'notFound', value, tags } : { kind: 'notFound', value };
  }
  if (!Object.hasOwn(entry, 'v')) throw new CorruptEntryError('entry has no value');
  return tags ? { kind: 'value', value: entry.v, tags } : { kind: 'value', value: entry.v };
}

function readTags(t: unknown): TagVersions | undefined {
  if (t === undefined) return undefined;
  if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new CorruptEntryError('malformed tags');
  for (const version of Object.values(t)) {
    if (typeof version !== 'string') throw new CorruptEntryError('malformed tag version');
  }
  return t as TagVersions;
}
