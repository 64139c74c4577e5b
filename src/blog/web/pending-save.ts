import type { Context } from 'koa';

/**
 * A save the author submitted after their session had ended, kept server-side in this browser's
 * own session (never in the page cache: the session store is private to the cookie's holder)
 * until the author, signed in again, opens the editor it came from, which shows it once.
 */
export interface PendingSave {
  /** The post it edits; null for a new post. */
  postId: number | null;
  /** The submitted text: `title`, `body`, `category`, `published`, `version`, `draft`. */
  fields: Record<string, string>;
}

/** How long a signed-out browser's session keeps a pending save: enough to find the password. */
export const PENDING_SAVE_MAX_AGE_MS = 60 * 60 * 1000;

/** The form fields a pending save keeps; anything else a form sent is dropped. */
const KEPT_FIELDS = ['title', 'body', 'category', 'published', 'version', 'draft'] as const;

/** Keeps `fields` as this browser's pending save of `postId` (replacing any earlier one). */
export function keepPendingSave(ctx: Context, postId: number | null, fields: Record<string, string>): void {
  const session = ctx.session;
  if (!session) throw new Error('keepPendingSave: no session on this request (is the session middleware mounted?)');
  const kept: Record<string, string> = {};
  for (const name of KEPT_FIELDS) if (fields[name] !== undefined) kept[name] = fields[name];
  session.pendingSave = { postId, fields: kept };
  // A signed-out browser's session exists only for this; it need not outlive the hour.
  if (!ctx.state.author) session.maxAge = PENDING_SAVE_MAX_AGE_MS;
}

/** This browser's pending save, whichever post it is for (left in place). */
export function peekPendingSave(ctx: Context): PendingSave | undefined {
  const pending = ctx.session?.pendingSave;
  return isPendingSave(pending) ? pending : undefined;
}

/** The pending save of `postId` (null: a new post), removed from the session as it is read. */
export function takePendingSave(ctx: Context, postId: number | null): PendingSave | undefined {
  const pending = peekPendingSave(ctx);
  const session = ctx.session;
  if (pending === undefined || session === null || pending.postId !== postId) return undefined;
  delete session.pendingSave;
  return pending;
}

/** The editor that shows the pending save, for the redirect after signing in. */
export function pendingEditorPath(pending: PendingSave): string {
  return pending.postId === null ? '/admin/posts/new' : `/admin/posts/${pending.postId}/edit`;
}

function isPendingSave(value: unknown): value is PendingSave {
  if (typeof value !== 'object' || value === null) return false;
  const { postId, fields } = value as Record<string, unknown>;
  return (postId === null || typeof postId === 'number') && typeof fields === 'object' && fields !== null;
}
