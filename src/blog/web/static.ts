import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
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
 * A name a URL may give to a folder or file under the static root: lower-case letters, digits,
 * `-`, `_` and dots, not starting with a dot. So no dot file, no `.` or `..`, no separator of any
 * kind (`/`, `\`, a percent escape), no NUL, and no other letter case of a name (which a
 * case-insensitive file system would serve under a spelling the toolbar's asset guard misses).
 */
const NAME = /^[a-z0-9_-][a-z0-9._-]*$/;

/**
 * The file that `relative` (the URL path after the prefix, still percent-encoded) names under
 * `base`, or undefined unless it is one or more {@link NAME}s joined by single slashes. An
 * absolute path, an empty segment or `..` is refused here, before the file system is asked.
 */
export function staticFile(base: string, relative: string): string | undefined {
  const names = relative.split('/');
  return names.every((name) => NAME.test(name)) ? join(base, ...names) : undefined;
}

/**
 * Serves files under `root` at `urlPrefix` (GET/HEAD only): only relative paths of plain names
 * ({@link staticFile}) of known types. Everything else under the prefix, served or not, is the
 * same 404 (the error handler's page), whether or not something exists at the path it spells,
 * so the answer says nothing about the disk outside the root.
 */
export function staticFiles(root: string, urlPrefix = '/static/') {
  const base = resolve(root);
  return async function staticFiles(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !ctx.path.startsWith(urlPrefix)) {
      await next();
      return;
    }
    const file = staticFile(base, ctx.path.slice(urlPrefix.length));
    const type = file === undefined ? undefined : TYPES[extname(file)];
    const body = file === undefined || type === undefined ? undefined : await readFile(file).catch(() => undefined);
    if (body === undefined || type === undefined) {
      ctx.status = 404;
      return;
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = body;
  };
}
