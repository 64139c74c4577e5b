import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

/**
 * The benchmark's limit: a bare Koa app that answers every request with the exact bytes of
 * Kiln's index page (read once from BODY_FILE) as HTML, from memory. With BARE_COMPRESS=1 it
 * stands behind koa-compress with its defaults (brotli quality 4, gzip, 1 KB threshold), what a
 * user would otherwise deploy: every request compresses the page again. Started by
 * bench/servers.ts on PORT (0 = any free port), it reports its port over IPC.
 */

const file = process.env.BODY_FILE;
if (!file) throw new Error('BODY_FILE is required');
const body = readFileSync(file);
const app = new Koa();
if (process.env.BARE_COMPRESS === '1') app.use((await import('koa-compress')).default());
app.use((ctx) => {
  ctx.type = 'html';
  ctx.body = body;
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
