import type { Context, Next } from 'koa';
import { negotiateEncoding } from '../../cache/koa/index.ts';
import { httpDate, notModified } from './conditional.ts';
import type { StaticAssets } from './static-assets.ts';
import { isPlainPath, parseAssetPath } from './static-path.ts';

/** The `Cache-Control` of each kind of static URL. */
export const STATIC_CACHE_CONTROL = {
  /** A hashed URL naming the current content: it can never change, so kept for a year unasked. */
  hashed: 'public, max-age=31536000, immutable',
  /** A plain URL (a link written by hand, `/favicon.ico`): kept briefly, then revalidated by ETag or date. */
  plain: 'public, max-age=300',
  /** A hashed URL naming earlier content: the current file, revalidated on every use. */
  outdated: 'public, no-cache',
} as const;

/** Options of {@link staticFiles}. */
export interface StaticFilesOptions {
  /**
   * Paths outside the URL folder answered with a file of it, like its plain URL:
   * `{ '/favicon.ico': 'favicon.ico' }` (default none).
   */
  aliases?: Readonly<Record<string, string>>;
}

/**
 * Serves the files of `assets` at its URL folder (GET/HEAD only): only relative paths of plain
 * names (static-path.ts) of known types. Everything else under the prefix, served or not, is the
 * same 404 (the error handler's page), whether or not something exists at the path it spells,
 * so the answer says nothing about the disk outside the root.
 *
 * Each response carries a strong `ETag` and `Last-Modified` (a match gets 304, RFC 9110 §13.2.2)
 * and, for compressible types, is brotli or gzip when `Accept-Encoding` prefers it, with
 * `Vary: Accept-Encoding` and an ETag of its own per encoding. A hashed URL (assets.url()) of the
 * current content is `immutable` for a year; a plain URL is cached briefly. A hashed URL whose
 * hash is not the current content's serves the current file, revalidated on every use, rather
 * than a 404: pages kept in the page cache or a shared cache across a deploy name the previous
 * hash, and would otherwise lose their stylesheet; it is never `immutable`, so no cache pins
 * these bytes to that URL.
 *
 * @example
 * app.use(staticFiles(new StaticAssets({ root: STATIC_DIR }), { aliases: { '/favicon.ico': 'favicon.ico' } }));
 */
export function staticFiles(assets: StaticAssets, options: StaticFilesOptions = {}) {
  const prefix = assets.urlPrefix;
  const aliases = new Map(Object.entries(options.aliases ?? {}));
  for (const [path, relative] of aliases) {
    if (!isPlainPath(relative)) throw new TypeError(`staticFiles: alias ${path} names ${JSON.stringify(relative)}, not a path of plain names`);
  }

  return async function staticFiles(ctx: Context, next: Next): Promise<void> {
    const alias = aliases.get(ctx.path);
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || (alias === undefined && !ctx.path.startsWith(prefix))) {
      await next();
      return;
    }
    const path = alias === undefined ? parseAssetPath(ctx.path.slice(prefix.length)) : { relative: alias };
    const asset = path === undefined ? undefined : assets.get(path.relative);
    if (path === undefined || asset === undefined) {
      ctx.status = 404;
      return;
    }
    const variant = await asset.variant(negotiateEncoding(ctx.headers['accept-encoding'], asset.compressions));
    const cacheControl = path.hash === undefined ? 'plain' : path.hash === asset.hash ? 'hashed' : 'outdated';
    // Chosen here, from the files' own variants: the request frame does not compress it again.
    ctx.state.contentCoding = variant.encoding;
    ctx.set('Cache-Control', STATIC_CACHE_CONTROL[cacheControl]);
    ctx.set('ETag', variant.etag);
    ctx.set('Last-Modified', httpDate(asset.lastModifiedMs));
    if (asset.compressions.length > 0) ctx.vary('Accept-Encoding');
    const conditions = { ifNoneMatch: ctx.headers['if-none-match'], ifModifiedSince: ctx.headers['if-modified-since'] };
    if (notModified(conditions, { etag: variant.etag, lastModifiedMs: asset.lastModifiedMs })) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type.type;
    if (variant.encoding !== 'identity') ctx.set('Content-Encoding', variant.encoding);
    ctx.body = variant.body;
  };
}
