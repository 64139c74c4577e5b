import { describe, expect, it } from 'vitest';
import type { CollectedCacheOp, RequestRecord } from '../../../src/cache/toolbar/collector.ts';
import { cacheTotals, escapeHtml, formatBytes, formatMs, hitRatio, renderToolbar, type ToolbarView } from '../../../src/cache/toolbar/panel.ts';
import { readableKey } from '../../../src/cache/toolbar/readable-key.ts';
import { fragmentKey, makeKey, memoKey, viewKey } from '../../../src/cache/keys.ts';
import type { CacheStats } from '../../../src/cache/telemetry.ts';
import { requestRecord } from './request-record.ts';

const EVIL = `<script>alert("x")</script>'&`;

function op(partial: Partial<CollectedCacheOp> & Pick<CollectedCacheOp, 'op' | 'result'>): CollectedCacheOp {
  const key = partial.key ?? 'k';
  return { key, origin: 'direct', backend: 'memory', durationMs: 0.25, atMs: 1, readableKey: readableKey(key), ...partial };
}

function record(partial: Partial<RequestRecord> = {}): RequestRecord {
  return requestRecord({ id: 'req-1', route: '/', pageCache: 'MISS', timings: { totalMs: 12.5, renderMs: 4, dbMs: 3, cacheMs: 1 }, ...partial });
}

const zero = { hits: 0, misses: 0, sets: 0, deletes: 0, errors: 0, bytes: 0 };
const stats: CacheStats = {
  origins: { view: { ...zero, hits: 3, misses: 1 }, fragment: zero, memoize: zero, direct: zero },
  backends: { memory: { ...zero, hits: 3, misses: 1, bytes: 2048 } },
  corrupt: 0,
  health: 'ok',
  backend: { entries: 4, bytes: 4096 },
};

function view(partial: Partial<ToolbarView> = {}): ToolbarView {
  return { record: record(), history: [], stats, clearToken: 'tok', urls: { base: '/_toolbar', css: '/static/toolbar/toolbar.css', js: '/static/toolbar/toolbar.js' }, ...partial };
}

describe('renderToolbar()', () => {
  it('escapes keys, details, URLs, SQL, templates and errors, whatever they contain', () => {
    const html = renderToolbar(
      view({
        record: record({
          url: `/?q=${EVIL}`,
          route: EVIL,
          cache: [op({ op: 'get', result: 'error', key: EVIL, detail: EVIL, error: EVIL })],
          queries: [{ sql: `SELECT '${EVIL}'`, parameters: 1, durationMs: 1, atMs: 1, error: EVIL }],
          templates: [EVIL],
        }),
        history: [record({ id: 'old', url: EVIL, cache: [op({ op: 'set', result: 'set', key: EVIL })] })],
      }),
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain(`"x")</script>'`);
    expect(html).toContain(escapeHtml(EVIL));
    // The only script is the toolbar's own file: no inline script, handlers or style attributes (CSP).
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script src="/static/toolbar/toolbar.js" defer></script>');
    expect(html).not.toMatch(/\son[a-z]+=|\sstyle=/i);
  });

  it('shows what the page was and every cache operation in order with its result, origin and size', () => {
    const html = renderToolbar(
      view({
        record: record({
          pageCache: 'HIT',
          pageCacheReason: 'early-fresh',
          cache: [
            op({ op: 'get', result: 'hit', key: viewKey('', '/', '', { queryString: false }), origin: 'view', detail: '/', bytes: 3300 }),
            op({ op: 'get', result: 'miss', key: fragmentKey('sidebar', []), origin: 'fragment', detail: 'views/partials/sidebar.njk:1' }),
            op({ op: 'set', result: 'set', key: memoKey('renderPost', 'v1', [3]), origin: 'memoize', detail: 'renderPost', bytes: 10 }),
            op({ op: 'invalidateTags', result: 'delete', key: 'posts' }),
          ],
        }),
      }),
    );
    expect(html).toContain('data-request-id="req-1"');
    expect(html).toContain('data-page-cache="HIT"');
    expect(html).toContain('Page: <span class="kiln-tb-badge kiln-tb-hit">HIT</span> <span class="kiln-tb-reason">served from a fresh stored page before the app ran</span>');
    const rows = [...html.matchAll(/<tr class="kiln-tb-row-(\w+)"><td data-label="#">(\d+)<\/td><td data-label="Operation">(\w+)<\/td><td data-label="Key"><code[^>]*>([^<]*)<\/code>/g)].map((m) => [m[2], m[3], m[1], m[4]]);
    expect(rows.slice(0, 4)).toEqual([
      ['1', 'get', 'hit', 'view(&#34;&#34;, &#34;/&#34;)'],
      ['2', 'get', 'miss', 'fragment(&#34;sidebar&#34;, [])'],
      ['3', 'set', 'set', 'memo(&#34;renderPost&#34;, &#34;v1&#34;, [3])'],
      ['4', 'invalidateTags', 'delete', 'posts'],
    ]);
    expect(html).toContain('fragment <span class="kiln-tb-detail">views/partials/sidebar.njk:1</span>');
    expect(html).toContain('memoize <span class="kiln-tb-detail">renderPost</span>');
    expect(html).toContain('3.2 KiB');
    expect(html).toMatch(/<b>4<\/b> calls · <b>1<\/b> hits · <b>1<\/b> misses · hit ratio <b>50%<\/b>/);
    expect(html).toContain('<b>0</b> fragment hits · <b>1</b> fragment misses');
  });

  it('fills the Request, SQL, Templates, Stats and History tabs', () => {
    const html = renderToolbar(
      view({
        record: record({
          route: '/posts/:id',
          queries: [{ sql: 'SELECT 1', parameters: 0, durationMs: 1.5, atMs: 2 }],
          templates: ['pages/post.njk', 'base.njk', 'partials/sidebar.njk', 'partials/sidebar.njk'],
        }),
        history: [record({ id: 'prev', method: 'POST', url: '/admin/posts/1', status: 303, pageCache: undefined, cache: [op({ op: 'invalidateTags', result: 'delete', key: 'post:1' })] })],
        breakerState: 'closed',
      }),
    );
    for (const tab of ['cache', 'request', 'sql', 'templates', 'stats', 'history']) expect(html).toContain(`data-panel="${tab}"`);
    expect(html).toContain('<code>/posts/:id</code>');
    expect(html).toContain('<code class="kiln-tb-sql">SELECT 1</code>');
    expect(html).toContain('<li><code>partials/sidebar.njk</code> ×2</li>');
    expect(html).toMatch(/<th scope="row">view<\/th><td class="kiln-tb-num" data-label="Hits">3<\/td><td class="kiln-tb-num" data-label="Misses">1<\/td>.*75%/);
    expect(html).toContain('Backend holds 4 entries, 4.0 KiB');
    expect(html).toContain('circuit breaker closed');
    expect(html).toContain('class="kiln-tb-clear"');
    expect(html).toContain('data-clear-token="tok"');
    expect(html).toMatch(/<details class="kiln-tb-history" data-request-id="prev"><summary><code>POST \/admin\/posts\/1<\/code> → 303/);
    expect(html).toContain('post:1');
  });

  it('starts collapsed, with only the first tab visible', () => {
    const html = renderToolbar(view());
    expect(html).toContain('aria-expanded="false"');
    expect(html).toMatch(/<div class="kiln-tb-body" id="kiln-tb-body" hidden>/);
    expect(html.match(/role="tabpanel" [^>]*data-panel="\w+" hidden>/g)).toHaveLength(10);
    expect(html.match(/role="tabpanel" [^>]*data-panel="\w+">/g)).toHaveLength(1);
  });
});

describe('panel formatting helpers', () => {
  it('formats durations, sizes and ratios for people', () => {
    expect(formatMs(0.123)).toBe('0.12 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(250.4)).toBe('250 ms');
    expect(formatBytes(undefined)).toBe('');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2.5 * 1024 * 1024)).toBe('2.5 MiB');
    expect(hitRatio(0, 0)).toBe('—');
    expect(hitRatio(2, 1)).toBe('67%');
  });

  it('counts hits and misses of lookups only', () => {
    const totals = cacheTotals([op({ op: 'get', result: 'hit' }), op({ op: 'delete', result: 'miss' }), op({ op: 'has', result: 'miss' })]);
    expect(totals).toEqual({ calls: 3, hits: 1, misses: 1, timeMs: 0.75 });
  });
});

describe('readableKey()', () => {
  it('unframes and unescapes keys built by keys.ts', () => {
    expect(readableKey(viewKey('', '/', '', { queryString: false }))).toBe('view("", "/")');
    expect(readableKey(viewKey('api', '/api/v1/posts', 'b=2&a=1', { queryString: true }))).toBe('view("api", "/api/v1/posts", "a=1&b=2")');
    expect(readableKey(memoKey('render', '7', [12, 'x y']))).toBe('memo("render", "7", [12,"x y"])');
    expect(readableKey(makeKey('ns', 'é|#%'))).toBe('ns("é|#%")');
  });

  it('shows a hashed key by its readable head and the start of its hash', () => {
    const key = makeKey('ns', 'a'.repeat(400));
    expect(readableKey(key)).toMatch(/^ns\(…\)…#[0-9a-f]{12}$/);
  });

  it('leaves anything else as it is', () => {
    expect(readableKey('posts')).toBe('posts');
    expect(readableKey('a|b')).toBe('a|b');
  });
});
