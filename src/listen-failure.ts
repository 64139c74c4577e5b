import { createServer } from 'node:net';
import { StartupError } from './config.ts';

/** The exit code of a worker that could not listen and has logged why (its primary then adds nothing). */
export const EXIT_CANNOT_LISTEN = 3;

/** Where the server listens. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * The one line that explains why listening at `where` failed, for the failures a person fixes
 * with a setting (a port in use, a privileged port, an address not on this machine), or
 * undefined for any other error.
 */
export function listenFailure(error: unknown, where: ListenAddress): string | undefined {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  if (code === 'EADDRINUSE') return `Port ${where.port} is already in use (set PORT to another)`;
  if (code === 'EACCES') return `Port ${where.port} needs privileges this process lacks (set PORT to 1024 or above)`;
  if (code === 'EADDRNOTAVAIL') return `${where.host} is not an address of this machine (set HOST to another)`;
  return undefined;
}

/**
 * Binds `where` for a moment and lets go, so a cluster primary can say in one line that the
 * port is taken before forking workers that would each fail on it. Rejects with a
 * {@link StartupError} for the failures {@link listenFailure} explains, else with the error.
 */
export function probeListen(where: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => {
      const line = listenFailure(error, where);
      reject(line === undefined ? error : new StartupError(line));
    });
    probe.listen({ host: where.host, port: where.port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
