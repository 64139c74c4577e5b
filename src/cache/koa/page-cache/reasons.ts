import type { PageCacheReason, UncacheableReason } from './decide.ts';

/**
 * Each page cache decision's reason (decide.ts) in words, for people (the dev toolbar): the one
 * place that says them. The rules stay in decide.ts; this only names what they returned.
 */

const NOT_STORED: Record<UncacheableReason | 'filtered' | 'thrown', string> = {
  status: 'the status was not 200, and only 200 responses are stored',
  'set-cookie': 'the response sets a cookie (Set-Cookie), so it is personal',
  'cache-control': 'the response says Cache-Control: private, no-store or no-cache',
  vary: 'the response varies (Vary) on a header the page key cannot hold',
  'content-encoding': 'the response is already encoded (Content-Encoding)',
  body: 'the body is a stream or other non-data value that cannot be replayed',
  'not-replayable': 'the handler wrote the response itself, outside Koa',
  filtered: "the route's store filter (shouldCache) refused it",
  thrown: 'the handler answered with an error (such as 404 Not Found), and error pages are never stored',
};

const WORDS: Record<Exclude<PageCacheReason, `not-stored:${string}`>, string> = {
  'early-fresh': 'served from a fresh stored page before the app ran',
  fresh: 'a stored page younger than its timeout',
  'stale-while-revalidate': 'an older stored page served at once while one background render refreshes it',
  'stale-if-error': 'the new render failed, so the last good page was served',
  expired: 'the stored page was too old, so the page was rendered again',
  absent: 'no stored page yet (or it was unreadable), so the page was rendered and stored',
  forced: 'forcedUpdate asked for a new render',
  method: 'only GET and HEAD are cached',
  unless: "the route's unless rule skipped the cache (for example: an author is signed in)",
  'query-string': "the URL has a query string this route's key does not hold",
  'head-miss': 'HEAD without a usable stored page: answered by the handler, never stored',
  'shared-render-not-stored': "another request's render could not be shared, so this one rendered its own",
};

/** Why the page cache did what it did, in a sentence fragment; `not cached` routes have no reason. */
export function pageCacheReasonText(reason: PageCacheReason): string {
  if (reason.startsWith('not-stored:')) {
    const why = reason.slice('not-stored:'.length) as keyof typeof NOT_STORED;
    return `rendered and not stored: ${NOT_STORED[why] ?? why}`;
  }
  return WORDS[reason as keyof typeof WORDS] ?? reason;
}

/** What the toolbar says of a response on a route without a page cache. */
export const NOT_CACHED_TEXT = 'this route has no page cache';
