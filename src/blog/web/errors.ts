import { STATUS_CODES } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from '../../log.ts';

/** Whether `path` belongs to the JSON API, whose errors are JSON. */
export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * The one error middleware: any thrown error or empty 4xx/5xx response becomes an HTML error
 * page, or `{ "error": { "status", "message" } }` under /api. Messages of client errors are
 * shown when they were meant to be (`expose`); a server error is logged with its stack and
 * the client sees only a generic sentence.
 */
export function errorHandler(logger: Logger) {
  return async function errorHandler(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status >= 400 && ctx.body == null) await respond(ctx, ctx.status, defaultMessage(ctx.status));
    } catch (err) {
      const status = statusOf(err);
      if (status >= 500) logServerError(logger, ctx, err);
      if (ctx.headerSent || !ctx.writable) return;
      const message = status < 500 && isExposed(err) ? err.message : defaultMessage(status);
      await respond(ctx, status, message);
    }
  };
}

/** Logs a server error of the request `ctx`, with its stack: `GET /posts/3 failed with 500: Error: …`. */
export function logServerError(logger: Logger, ctx: Context, err: unknown): void {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  logger.error(`${ctx.method} ${ctx.path} failed with ${statusOf(err)}: ${detail}`);
}

function statusOf(err: unknown): number {
  if (typeof err === 'object' && err !== null) {
    const status = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return status;
  }
  return 500;
}

function isExposed(err: unknown): err is Error {
  return err instanceof Error && (err as { expose?: unknown }).expose === true;
}

function defaultMessage(status: number): string {
  if (status === 404) return 'There is nothing here.';
  if (status >= 500) return 'Something went wrong on our side. Please try again later.';
  return STATUS_CODES[status] ?? 'Error';
}

async function respond(ctx: Context, status: number, message: string): Promise<void> {
  ctx.status = status;
  if (isApiPath(ctx.path)) {
    ctx.body = { error: { status, message } };
    return;
  }
  try {
    // `flash: undefined`: the author's flash waits for the page it was meant for.
    await ctx.render('pages/error.njk', { title: STATUS_CODES[status] ?? 'Error', status, message, flash: undefined });
  } catch {
    ctx.type = 'text';
    ctx.body = `${status} ${message}`;
  }
  // The page above replaces the body, and Koa resets the status only for a null body.
  ctx.status = status;
}
