import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Context } from 'koa';
import { COMPRESSIONS, negotiateEncoding, type Compression, type ContentCoding } from './accept-encoding.ts';

/**
 * What responses are compressed and how: the media types worth it, the size below which a body
 * goes out as it is, the two compressors (the smallest output for what is made once and kept,
 * a fast one for what is made per request), and the coding a request gets.
 */

/** Compresses a body into one coding; injected so tests can count the calls. */
export type Compressor = (coding: Compression, body: Buffer) => Promise<Buffer>;

/** Bodies smaller than this many bytes are sent as they are: the headers cost more than the saving. */
export const COMPRESSION_THRESHOLD = 1024;

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * The smallest output (brotli quality 11, gzip level 9), a few milliseconds for a 7 KB page:
 * for forms made once and served many times (the page cache's stored forms). Runs on libuv's
 * thread pool, so it never blocks the event loop.
 */
export const smallestCompressor: Compressor = (coding, body) =>
  coding === 'br'
    ? brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipAsync(body, { level: constants.Z_BEST_COMPRESSION });

/**
 * Fast settings (brotli quality 4, gzip level 6, koa-compress's defaults), a fraction of a
 * millisecond for a 7 KB page: for responses compressed on every request.
 */
export const fastCompressor: Compressor = (coding, body) =>
  coding === 'br'
    ? brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipAsync(body, { level: 6 });

// Text in all its spellings: HTML, CSS, JS, plain text, XML and JSON (Atom and RSS feeds,
// `+json`/`+xml` types included), SVG.
const COMPRESSIBLE = /^(?:text\/|application\/(?:json|javascript|xml|(?:[\w.-]+\+)(?:json|xml))\b|image\/svg\+xml\b)/i;

/** Whether a `Content-Type` names a media type worth compressing (text, JSON, XML, JS, CSS, SVG). */
export function isCompressibleType(contentType: string | undefined): boolean {
  return contentType !== undefined && COMPRESSIBLE.test(contentType.trim());
}

// Where whoever decides a response's coding leaves word for the request frame's compression.
declare module 'koa' {
  interface DefaultState {
    /**
     * The coding the response's body is already in, set by whoever chose it (the page cache, the
     * static files): the response is not compressed again, not even when it is identity.
     */
    contentCoding?: ContentCoding;
    /**
     * Set by the request frame for a request the inspector (the dev toolbar) rewrites: answer in
     * identity, the frame compresses the final body after the rewrite.
     */
    deferCompression?: boolean;
  }
}

/**
 * The coding to send a response in, among the compressed forms it has: what the request's
 * `Accept-Encoding` prefers (see `negotiateEncoding`), or identity when compression is deferred
 * to the request frame.
 */
export function codingFor(ctx: Context, available: readonly Compression[]): ContentCoding {
  if (available.length === 0 || ctx.state.deferCompression === true) return 'identity';
  const header = ctx.req.headers['accept-encoding'];
  if (header === undefined) return 'identity';
  // Almost every response has both forms, and browsers send a handful of distinct headers: the
  // answer is remembered (a bounded few, so varied headers cost a parse, never memory).
  if (available.length !== COMPRESSIONS.length || !available.every((coding, i) => coding === COMPRESSIONS[i])) {
    return negotiateEncoding(header, available);
  }
  let coding = BOTH_FORMS.get(header);
  if (coding === undefined) {
    coding = negotiateEncoding(header, COMPRESSIONS);
    if (BOTH_FORMS.size >= 64) BOTH_FORMS.clear();
    BOTH_FORMS.set(header, coding);
  }
  return coding;
}

/** The coding each recent `Accept-Encoding` header gets when both compressions are available. */
const BOTH_FORMS = new Map<string, ContentCoding>();
