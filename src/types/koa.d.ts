// Kiln's additions to Koa's context, declared once for every middleware and route.
import type { BlogCaching } from '../blog/caching.ts';
import type { PostRendering } from '../blog/post-rendering.ts';
import type { CacheOutbox } from '../blog/services/outbox.ts';
import type { PostService } from '../blog/services/posts.ts';
import type { Author, UserService } from '../blog/services/users.ts';
import type { Flash } from '../blog/web/flash.ts';
import type { PendingSave } from '../blog/web/pending-save.ts';
import type { LoginThrottle } from '../blog/web/throttle.ts';

declare module 'koa' {
  /** Per-request state shared by middleware, routes and templates. */
  interface DefaultState {
    /** The signed-in author; the single "is logged in" signal (absent for readers). */
    author?: Author;
    /** The CSRF token forms of this page must carry in `_csrf` (author pages and /login only). */
    csrfToken?: string;
  }

  /** Helpers every Kiln context carries. */
  interface DefaultContext {
    /** The blog's data services, shared by all requests of one app. */
    services: BlogServices;
    /** Renders a Nunjucks view with `ctx.state` and `data` into an HTML response body. */
    render(template: string, data?: Record<string, unknown>): Promise<void>;
    /** koa-session's session (null once cleared); created lazily and never saved while empty. */
    session: KilnSession | null;
  }

  /** The parsed request body (see src/blog/web/body.ts); undefined when none was read. */
  interface Request {
    body?: unknown;
  }
}

/** The services routes reach through `ctx.services`. */
export interface BlogServices {
  posts: PostService;
  users: UserService;
  /** The blog's cached pages and memoized pieces. */
  caching: BlogCaching;
  /** Post bodies and excerpts as readers see them, even when their Markdown cannot be rendered. */
  rendering: PostRendering;
  /** Post writes' pending invalidations; the server sweeps it (src/server.ts). */
  outbox: CacheOutbox;
  /** Counts password checks per client: logins, and the author's current password when changing it. */
  loginThrottle: LoginThrottle;
}

/**
 * The members of koa-session 7's `Session` that Kiln uses (the package does not export the
 * class), plus the data Kiln keeps in it.
 */
export interface KilnSession {
  /** The signed-in author's id. */
  authorId?: number;
  /** The signed-in author's name, shown in the header. */
  username?: string;
  /** The per-session CSRF token for author forms. */
  csrf?: string;
  /** The author's one-shot message for the next page (web/flash.ts). */
  flash?: Flash;
  /** A save submitted after the session ended, shown in the editor after signing in (web/pending-save.ts). */
  pendingSave?: PendingSave;
  /** This session's lifetime in milliseconds; setting it re-saves the session. */
  maxAge: number | 'session' | undefined;
  /** The account's credential stamp when the session began; another stamp voids the session (services/users.ts). */
  credentials?: string;
  /** True for a session created on this request (nothing stored yet). */
  readonly isNew: boolean;
  /** Destroys the stored session and its id, then saves the data under a fresh id. */
  regenerate(): Promise<void> | undefined;
}
