import type { Context, Next } from 'koa';

/** Options of the body parser. */
export interface BodyOptions {
  /** Largest body accepted, in bytes; a larger one is answered 413 before or while reading. */
  limitBytes: number;
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Reads form (`application/x-www-form-urlencoded`) and JSON bodies into `ctx.request.body`
 * with a byte limit: 413 when over it, 400 for malformed JSON or bad encoding, 415 for other
 * non-empty bodies. Written here rather than taken from a package so the limits are ours.
 */
export function bodyParser(options: BodyOptions) {
  if (!Number.isSafeInteger(options.limitBytes) || options.limitBytes < 1) {
    throw new Error(`bodyParser: limitBytes must be a positive integer, got ${options.limitBytes}`);
  }
  return async function bodyParser(ctx: Context, next: Next): Promise<void> {
    if (METHODS_WITH_BODY.has(ctx.method)) {
      const declared = ctx.request.length;
      if (declared !== undefined && declared > options.limitBytes) {
        ctx.set('Connection', 'close');
        ctx.throw(413, `The request body is larger than ${options.limitBytes} bytes.`);
      }
      const raw = await readRaw(ctx, options.limitBytes);
      ctx.request.body = parse(ctx, raw);
    }
    await next();
  };
}

async function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) {
      // Stop reading; the connection is closed after the answer so the rest is never buffered.
      ctx.set('Connection', 'close');
      ctx.throw(413, `The request body is larger than ${limit} bytes.`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function parse(ctx: Context, raw: Buffer): unknown {
  if (raw.length === 0) return {};
  if (ctx.request.is('application/x-www-form-urlencoded')) {
    const text = decodeUtf8(ctx, raw);
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (ctx.request.is('json') || ctx.request.is('+json')) {
    const text = decodeUtf8(ctx, raw);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.throw(400, 'The request body is not valid JSON.');
    }
  }
  ctx.throw(415, 'Send the body as application/x-www-form-urlencoded or application/json.');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(ctx: Context, raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    ctx.throw(400, 'The request body is not valid UTF-8.');
  }
}

/**
 * The string fields of the parsed body (form or JSON object); other values are dropped, so
 * handlers and validators only ever see strings.
 */
export function formFields(ctx: Context): Record<string, string> {
  const body = ctx.request.body;
  const fields: Record<string, string> = {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fields;
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === 'string') fields[name] = value;
    else if (typeof value === 'boolean' || typeof value === 'number') fields[name] = String(value);
  }
  return fields;
}
