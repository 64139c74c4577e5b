import type { PageCacheOutcome } from './decide.ts';

// Where a request's page cache outcome is kept for the middleware around it (the request frame,
// metrics, the toolbar), typed once for every Koa app that uses the page cache.
declare module 'koa' {
  interface DefaultState {
    /** What the page cache did for this request and why; set by `cacheView` and by early answers. */
    pageCache?: PageCacheOutcome;
  }
}
