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
