import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { COMPRESSIONS, type Compression, type ContentCoding } from '../../cache/koa/index.ts';
import { hashedPath, staticFile, URL_HASH_LENGTH } from './static-path.ts';

/** How a file of one extension is served: its media type, and whether compressing it pays. */
export interface StaticType {
  type: string;
  compressible: boolean;
}

/** The files served, by extension; any other extension is a 404. */
export const STATIC_TYPES: Readonly<Record<string, StaticType>> = {
  '.css': { type: 'text/css; charset=utf-8', compressible: true },
  '.js': { type: 'text/javascript; charset=utf-8', compressible: true },
  '.svg': { type: 'image/svg+xml', compressible: true },
  '.txt': { type: 'text/plain; charset=utf-8', compressible: true },
  '.json': { type: 'application/json; charset=utf-8', compressible: true },
  // An .ico holds uncompressed bitmaps more often than not.
  '.ico': { type: 'image/x-icon', compressible: true },
  '.png': { type: 'image/png', compressible: false },
  '.woff2': { type: 'font/woff2', compressible: false },
};

/** One encoding of a file: the bytes sent and their strong ETag. */
export interface Variant {
  readonly encoding: ContentCoding;
  readonly body: Buffer;
  /** Strong ETag of these bytes (so each encoding has its own), quotes included. */
  readonly etag: string;
}

const compressors: Readonly<Record<Compression, (body: Buffer) => Promise<Buffer>>> = {
  // Made once per file, so the slowest, smallest settings are worth it.
  br: (body) =>
    promisify(brotliCompress)(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
  gzip: (body) => promisify(gzip)(body, { level: constants.Z_BEST_COMPRESSION }),
};

function variantOf(encoding: ContentCoding, body: Buffer): Variant {
  return { encoding, body, etag: `"${createHash('sha256').update(body).digest().subarray(0, 16).toString('base64url')}"` };
}

/** A static file as last read: its type, bytes, validators and (made on first demand) compressed variants. */
export class StaticAsset {
  /** The file as it is. */
  readonly identity: Variant;
  /** The start of the SHA-256 of its bytes, in hex: what its hashed URL carries. */
  readonly hash: string;
  /** The compressions a client may be offered (none for types that do not compress). */
  readonly compressions: readonly Compression[];
  private readonly compressed = new Map<Compression, Promise<Variant | undefined>>();

  constructor(
    /** Its path under the root: `css/site.css`. */
    readonly relative: string,
    readonly type: StaticType,
    body: Buffer,
    /** Its modification time, for `Last-Modified`. */
    readonly lastModifiedMs: number,
  ) {
    this.identity = variantOf('identity', body);
    this.hash = createHash('sha256').update(body).digest('hex').slice(0, URL_HASH_LENGTH);
    this.compressions = type.compressible ? COMPRESSIONS : [];
  }

  /**
   * The file in `encoding`: the compressed variant, made on the first call and kept, or the
   * file as it is when the variant is no smaller or compressing failed (the client can always
   * read identity).
   */
  async variant(encoding: ContentCoding): Promise<Variant> {
    if (encoding === 'identity' || !this.compressions.includes(encoding)) return this.identity;
    let made = this.compressed.get(encoding);
    if (made === undefined) {
      const body = this.identity.body;
      made = compressors[encoding](body).then(
        (compressed) => (compressed.length < body.length ? variantOf(encoding, compressed) : undefined),
        () => undefined,
      );
      this.compressed.set(encoding, made);
    }
    return (await made) ?? this.identity;
  }
}

/** Options of {@link StaticAssets}. */
export interface StaticAssetsOptions {
  /** The folder the files are in. */
  root: string;
  /** The URL folder they are served at, starting and ending with `/` (default `/static/`). */
  urlPrefix?: string;
}

/**
 * The files of a static folder, kept in memory once read (the folder is small), and their URLs.
 * Each use checks the file's modification time, size and inode (one `stat`), and reads, hashes
 * and (lazily) compresses it again only when one changed: a changed file has a new ETag and a
 * new hashed URL at once, in development and in production alike, and nothing is read or
 * compressed per request. Only files that exist and have a {@link STATIC_TYPES} extension are
 * kept, so the memory used is bounded by the folder.
 *
 * The file system is asked synchronously: a `stat` of a local file costs microseconds (less than
 * a trip through libuv's thread pool), a read happens once per change of a small file, and
 * templates ask for URLs synchronously (Nunjucks globals cannot await).
 *
 * @example
 * const assets = new StaticAssets({ root: 'static' });
 * assets.url('css/site.css'); // '/static/css/site.3f9a1c2b.css'
 */
export class StaticAssets {
  readonly root: string;
  readonly urlPrefix: string;
  private readonly files = new Map<string, { stamp: string; asset: StaticAsset }>();

  constructor(options: StaticAssetsOptions) {
    this.root = resolve(options.root);
    this.urlPrefix = options.urlPrefix ?? '/static/';
    if (!this.urlPrefix.startsWith('/') || !this.urlPrefix.endsWith('/')) {
      throw new TypeError(`StaticAssets: urlPrefix must start and end with /, got ${JSON.stringify(this.urlPrefix)}`);
    }
  }

  /** The current content of the file at `relative` (plain names, see static-path.ts), or undefined if there is none to serve. */
  get(relative: string): StaticAsset | undefined {
    const file = staticFile(this.root, relative);
    const type = file === undefined ? undefined : STATIC_TYPES[extname(file)];
    if (file === undefined || type === undefined) return undefined;
    try {
      const stat = statSync(file, { throwIfNoEntry: false });
      if (stat === undefined || !stat.isFile()) {
        this.files.delete(relative);
        return undefined;
      }
      const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
      const known = this.files.get(relative);
      if (known?.stamp === stamp) return known.asset;
      const asset = new StaticAsset(relative, type, readFileSync(file), stat.mtimeMs);
      this.files.set(relative, { stamp, asset });
      return asset;
    } catch {
      // Unreadable (permissions, removed between stat and read): not served, like a missing file.
      this.files.delete(relative);
      return undefined;
    }
  }

  /**
   * The URL of the file at `relative`, with its content hash (`/static/css/site.3f9a1c2b.css`),
   * served with a year's `immutable` caching; the plain URL when the file is missing (which then
   * answers 404 itself, rather than a page failing to render). Throws a TypeError for a path
   * that is not plain names, which no URL of this folder could serve.
   */
  url(relative: string): string {
    if (staticFile(this.root, relative) === undefined) {
      throw new TypeError(`StaticAssets.url: ${JSON.stringify(relative)} is not a path of plain lower-case names under the static folder`);
    }
    const asset = this.get(relative);
    const hashed = asset === undefined ? undefined : hashedPath(relative, asset.hash);
    return `${this.urlPrefix}${hashed ?? relative}`;
  }
}
