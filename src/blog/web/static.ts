import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { Context, Next } from 'koa';

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves files under `root` at `urlPrefix` (GET/HEAD only). Paths are confined to `root`, dot
 * files and unknown types are not served; anything else falls through (and ends as a 404).
 */
export function staticFiles(root: string, urlPrefix = '/static/') {
  const base = resolve(root);
  return async function staticFiles(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !ctx.path.startsWith(urlPrefix)) {
      await next();
      return;
    }
    const relative = ctx.path.slice(urlPrefix.length);
    const file = resolve(base, relative);
    const type = TYPES[extname(file)];
    if (!file.startsWith(base + sep) || relative.split('/').some((part) => part.startsWith('.')) || !type) {
      await next();
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      await next();
      return;
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  };
}
