import type { Context } from 'koa';

/** A one-shot message for the author's next page: a save, a publish, an unpublish, a delete. */
export interface Flash {
  text: string;
  /** The editor's browser-stored draft this write made obsolete (static/js/editor.js clears it). */
  draft?: string;
}

/** Keeps `flash` in the author's session for the next page they see. */
export function setFlash(ctx: Context, flash: Flash): void {
  const session = ctx.session;
  if (session) session.flash = flash;
}

/**
 * The author's flash message, removed from the session as it is read, so it is shown once.
 * Only the signed-in author has one: a reader's page (the cached kind) never reads the session
 * for it, so cached pages cannot carry one.
 */
export function takeFlash(ctx: Context): Flash | undefined {
  if (!ctx.state.author) return undefined;
  const session = ctx.session;
  const flash = session?.flash;
  if (session === null || flash === undefined) return undefined;
  delete session.flash;
  return typeof flash.text === 'string' ? flash : undefined;
}
