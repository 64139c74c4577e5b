import { request, type IncomingHttpHeaders } from 'node:http';

/** What one request got back. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  text: string;
  /** The body's bytes as they came (still compressed when the response has a Content-Encoding). */
  bytes: Buffer;
}

/** Options of {@link sendOnce}. */
export interface SendOptions {
  method?: string;
  /** The Cookie header. */
  cookie?: string;
  /** A form to post, sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/**
 * One request on a connection of its own (no keep-alive: a pooled connection to a proxy that
 * was restarted would fail the next request), redirects not followed; rejects only when no
 * response came.
 */
export function sendOnce(base: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  const headers: Record<string, string | number> = { ...options.headers };
  if (options.cookie) headers.Cookie = options.cookie;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method: options.method ?? (body === undefined ? 'GET' : 'POST'), agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The `name=value` pairs a response set, joined as a Cookie header. */
export function cookiesOf(reply: Reply): string {
  return (reply.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
}
