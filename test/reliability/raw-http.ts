import { connect } from 'node:net';

/** What a raw request got back: the status (0 when the connection closed without one) and the text. */
export interface RawResponse {
  status: number;
  text: string;
}

/**
 * Sends bytes exactly as given to a loopback server and collects what comes back until the
 * connection closes or `timeoutMs` passes: for requests no HTTP client library would send
 * (malformed headers, duplicate Host, absolute-form targets, smuggling attempts).
 */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 2000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', done);
    socket.on('close', done);
    socket.write(bytes);
  });
}

/** What to send with {@link rawTarget}. */
export interface RawTargetOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent with its Content-Length. */
  body?: string;
}

/**
 * Sends one `method target HTTP/1.1` request with the target exactly as given (a path spelling
 * a client library would normalise or refuse), `Host` of the server and `Connection: close`.
 */
export function rawTarget(port: number, target: string, options: RawTargetOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { Host: `127.0.0.1:${port}`, ...options.headers, Connection: 'close' };
  if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return rawRequest(port, `${options.method ?? 'GET'} ${target} HTTP/1.1\r\n${head}\r\n${options.body ?? ''}`);
}

/** A response header of a raw response (the first one of that name), or undefined. */
export function rawHeader(res: RawResponse, name: string): string | undefined {
  const head = res.text.split('\r\n\r\n', 1)[0];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** Runs `work` over `items` with at most `limit` running at once. */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
