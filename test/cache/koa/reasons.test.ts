import { describe, expect, it } from 'vitest';
import {
  decideHead,
  decideRequest,
  decideStored,
  notStoredOutcome,
  uncacheableReason,
  type PageCacheReason,
  type UncacheableReason,
} from '../../../src/cache/koa/page-cache/decide.ts';
import { pageCacheReasonText } from '../../../src/cache/koa/page-cache/reasons.ts';

/** Every reason decide.ts can return, spelled out so a new one without words fails to compile here. */
const NOT_STORED: Record<UncacheableReason | 'filtered' | 'thrown', true> = {
  status: true,
  'set-cookie': true,
  'cache-control': true,
  vary: true,
  'content-encoding': true,
  body: true,
  'not-replayable': true,
  filtered: true,
  thrown: true,
};
const REASONS: Record<Exclude<PageCacheReason, `not-stored:${string}`>, true> = {
  'early-fresh': true,
  fresh: true,
  'stale-while-revalidate': true,
  'stale-if-error': true,
  expired: true,
  absent: true,
  forced: true,
  method: true,
  unless: true,
  'query-string': true,
  'head-miss': true,
  'shared-render-not-stored': true,
};
const ALL: PageCacheReason[] = [...(Object.keys(REASONS) as PageCacheReason[]), ...Object.keys(NOT_STORED).map((r) => `not-stored:${r}` as PageCacheReason)];

describe('pageCacheReasonText()', () => {
  it('gives every reason its own words, never the code itself', () => {
    const texts = ALL.map(pageCacheReasonText);
    for (const [i, text] of texts.entries()) {
      expect(text).not.toBe(ALL[i]);
      expect(text.length).toBeGreaterThan(15);
    }
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('words what the decision functions return, from their own answers', () => {
    const bypass = decideRequest({ method: 'GET', unless: () => true, unkeyedQuery: false, forced: () => false });
    const query = decideRequest({ method: 'GET', unless: () => false, unkeyedQuery: true, forced: () => false });
    const post = decideRequest({ method: 'POST', unless: () => false, unkeyedQuery: false, forced: () => false });
    expect(bypass.action === 'bypass' && pageCacheReasonText(bypass.reason)).toMatch(/unless rule/);
    expect(query.action === 'bypass' && pageCacheReasonText(query.reason)).toMatch(/query string/);
    expect(post.action === 'bypass' && pageCacheReasonText(post.reason)).toMatch(/only GET and HEAD/);
    const stored = decideStored('fresh');
    expect(stored.action === 'serve' && pageCacheReasonText(stored.outcome.reason)).toMatch(/younger than its timeout/);
    expect(pageCacheReasonText(decideHead(undefined).reason)).toMatch(/HEAD/);
    const status = uncacheableReason({ status: 404, headers: {}, body: Buffer.from('x'), replayable: true });
    const cookie = uncacheableReason({ status: 200, headers: { 'set-cookie': 'a=b' }, body: Buffer.from('x'), replayable: true });
    const privately = uncacheableReason({ status: 200, headers: { 'cache-control': 'private' }, body: Buffer.from('x'), replayable: true });
    const vary = uncacheableReason({ status: 200, headers: { vary: 'Cookie' }, body: Buffer.from('x'), replayable: true });
    expect(pageCacheReasonText(notStoredOutcome(status ?? 'body').reason)).toMatch(/status was not 200/);
    expect(pageCacheReasonText(notStoredOutcome(cookie ?? 'body').reason)).toMatch(/Set-Cookie/);
    expect(pageCacheReasonText(notStoredOutcome(privately ?? 'body').reason)).toMatch(/Cache-Control: private/);
    expect(pageCacheReasonText(notStoredOutcome(vary ?? 'body').reason)).toMatch(/Vary/);
  });
});
