import type { Context } from 'koa';
import { COMPRESSIONS, negotiateEncoding } from './accept-encoding.ts';
import { COMPRESSION_THRESHOLD, fastCompressor, isCompressibleType, type Compressor } from './compression.ts';
import { bodyBytes } from './page-cache/decide.ts';

/** Options of {@link responseCompression}. */
export interface ResponseCompressionOptions {
  /** Bytes below which a body is sent as it is (default {@link COMPRESSION_THRESHOLD}, 1 KB). */
  threshold?: number;
  /** How bodies are compressed (default {@link fastCompressor}). */
  compressor?: Compressor;
}

/** Compresses a finished response on the fly; run by the request frame (its `compression` option). */
export interface ResponseCompression {
  /** Compresses `ctx`'s body into the coding the request prefers, when it should be (see {@link responseCompression}). */
  encode(ctx: Context): Promise<void> | void;
}

// `no-transform` asks that the bytes reach the client as they are (RFC 9111 §5.2.2.6).
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:$|,)/i;

/**
 * On-the-fly compression of the responses nothing compressed before (uncached pages, error pages,
 * the author's pages): a body of bytes, text or JSON data of a compressible type and at least
 * `threshold` bytes is sent as brotli or gzip when `Accept-Encoding` prefers one, with
 * `Vary: Accept-Encoding`. Left alone: a response whose coding was chosen already (the page
 * cache's stored forms, a precompressed static file: `ctx.state.contentCoding`) or that has a
 * `Content-Encoding`; 204, 304 and other bodiless answers; streams; `Cache-Control: no-transform`;
 * and HEAD, whose body is never sent (it gets `Vary` and is answered in identity). A strong ETag
 * of the identity bytes would not describe the compressed ones, so it gets the coding appended.
 *
 * @example
 * useRequestFrame(app, { headers, compression: responseCompression({ threshold: 1024 }) });
 */
export function responseCompression(options: ResponseCompressionOptions = {}): ResponseCompression {
  const threshold = options.threshold ?? COMPRESSION_THRESHOLD;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
    throw new TypeError(`responseCompression: \`threshold\` must be a non-negative number of bytes, got ${String(threshold)}`);
  }
  const compressor = options.compressor ?? fastCompressor;
  if (typeof compressor !== 'function') throw new TypeError('responseCompression: `compressor` must be a function');
  return {
    encode(ctx) {
      const body = compressibleBody(ctx, threshold);
      if (body === undefined) return undefined;
      ctx.vary('Accept-Encoding');
      // Deferred compression ends here, so the request's own preference counts.
      const coding = ctx.method === 'HEAD' ? 'identity' : negotiateEncoding(ctx.headers['accept-encoding'], COMPRESSIONS);
      if (coding === 'identity') return undefined;
      return compressor(coding, body).then((compressed) => {
        if (compressed.length >= body.length || ctx.headerSent) return;
        const etag = header(ctx, 'ETag');
        ctx.body = compressed;
        ctx.set('Content-Encoding', coding);
        if (/^"[^"]*"$/.test(etag)) ctx.set('ETag', `${etag.slice(0, -1)}-${coding}"`);
        // A compressor that fails leaves the response in identity, which every client reads.
      }, () => undefined);
    },
  };
}

/** The bytes of a body that may be compressed on the fly, or undefined when it must be left alone. */
function compressibleBody(ctx: Context, threshold: number): Buffer | undefined {
  if (ctx.state.contentCoding !== undefined || ctx.respond === false || ctx.headerSent) return undefined;
  if (ctx.status === 204 || ctx.status === 304 || ctx.status < 200 || ctx.body === null || ctx.body === undefined) return undefined;
  const encoding = header(ctx, 'Content-Encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') return undefined;
  if (!isCompressibleType(header(ctx, 'Content-Type')) || NO_TRANSFORM.test(header(ctx, 'Cache-Control'))) return undefined;
  const body = bodyBytes(ctx.body);
  return body !== undefined && body.length >= threshold ? body : undefined;
}

/** A response header as one string, empty when absent (Koa 3 gives undefined). */
function header(ctx: Context, name: string): string {
  const value: unknown = ctx.response.get(name);
  return Array.isArray(value) ? value.join(', ') : value === undefined || value === null ? '' : String(value);
}
