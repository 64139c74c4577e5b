import { NOT_CACHED_TEXT, pageCacheReasonText } from '../koa/page-cache/reasons.ts';
import type { CacheCounters, CacheStats } from '../telemetry.ts';
import type { RouteRow, Versions } from './app-info.ts';
import { headersPanel, loggingPanel, routesPanel, settingsPanel, versionsPanel } from './app-panels.ts';
import type { CollectedCacheOp, RequestRecord } from './collector.ts';
import { badge, escapeHtml, formatBytes, formatMs, hitRatio } from './html.ts';
import { sqlPanel } from './sql-panel.ts';

export { escapeHtml, formatBytes, formatMs, hitRatio } from './html.ts';

/**
 * The bar's HTML, rendered on the server from a request's record. Every value that came from a
 * request or the cache (URLs, keys, SQL, template names, error messages) goes through
 * {@link escapeHtml}: keys can contain anything. No inline script or style, so the site's CSP
 * (`script-src 'self'; style-src 'self'`) holds; the behaviour is in static/toolbar/toolbar.js.
 */

/** What the bar shows for one request. */
export interface ToolbarView {
  record: RequestRecord;
  /** Earlier requests, newest first, for the History tab. */
  history: readonly RequestRecord[];
  /** The cache's counters since start, when they could be read. */
  stats?: CacheStats;
  /** The backend's circuit-breaker state, when it has one. */
  breakerState?: string;
  /** CSRF token for the Clear cache button (see token.ts). */
  clearToken: string;
  /** Where the toolbar's routes (`/_toolbar`) and its stylesheet and script are. */
  urls: { base: string; css: string; js: string };
  /** The app's settings, already masked (Settings tab). */
  settings?: unknown;
  /** Versions of Node, the app, its libraries and servers (Versions tab). */
  versions?: Versions;
  /** The app's route table (Routes tab). */
  routes?: readonly RouteRow[];
  /** Whether the key actions (TTL and tags, drop a key, invalidate a tag) are offered. */
  actions?: boolean;
  /** Whether the SQL tab offers EXPLAIN. */
  explain?: boolean;
}

/** Per-request totals of the Cache tab; hits and misses count lookups (`get`, `has`) only. */
export function cacheTotals(ops: readonly CollectedCacheOp[]): { calls: number; hits: number; misses: number; timeMs: number } {
  let hits = 0;
  let misses = 0;
  let timeMs = 0;
  for (const op of ops) {
    timeMs += op.durationMs;
    if (op.op !== 'get' && op.op !== 'has') continue;
    if (op.result === 'hit') hits += 1;
    if (op.result === 'miss') misses += 1;
  }
  return { calls: ops.length, hits, misses, timeMs };
}

/** The page cache's result as a badge. */
function pageBadge(record: RequestRecord): string {
  if (record.kind === 'action') return badge('toolbar action', 'toolbar-action');
  return record.pageCache ? badge(record.pageCache) : badge('not cached', 'none');
}

/** Why the page cache did that, in words (reasons.ts, next to the decisions themselves). */
export function pageReason(record: RequestRecord): string {
  if (record.kind === 'action') return 'done from the toolbar';
  if (!record.pageCache) return NOT_CACHED_TEXT;
  return record.pageCacheReason === undefined ? '' : pageCacheReasonText(record.pageCacheReason);
}

/** The page's badge, its reason and, when it came from the cache, its size. */
function pageLine(record: RequestRecord): string {
  const served = (record.pageCache === 'HIT' || record.pageCache === 'STALE') && record.responseBytes !== undefined;
  const size = served ? ` · page <b>${formatBytes(record.responseBytes)}</b>` : '';
  return `${pageBadge(record)} <span class="kiln-tb-reason">${escapeHtml(pageReason(record))}</span>${size}`;
}

function origin(op: CollectedCacheOp): string {
  const detail = op.detail === undefined ? '' : ` <span class="kiln-tb-detail">${escapeHtml(op.detail)}</span>`;
  return `${escapeHtml(op.origin)}${detail}`;
}

/** Operations whose key is one entry's (not a tag list, a purge or the whole cache). */
const ENTRY_OPS = new Set(['get', 'set', 'add', 'delete', 'has', 'incr']);

/**
 * The table of a request's cache operations, in order; with `actions`, each entry's row gets a
 * button that shows its remaining TTL and tags, and offers to drop the key or invalidate a tag.
 */
export function renderCacheTable(ops: readonly CollectedCacheOp[], dropped = 0, actions = false): string {
  if (ops.length === 0) return '<p class="kiln-tb-empty">No cache operations.</p>';
  const rows = ops.map((op, i) => {
    const error = op.error === undefined ? '' : `<div class="kiln-tb-errmsg">${escapeHtml(op.error)}</div>`;
    const entry =
      actions && ENTRY_OPS.has(op.op) && op.backend !== 'http'
        ? `<div><button type="button" class="kiln-tb-action kiln-tb-entry" data-index="${i}" aria-expanded="false">TTL &amp; tags</button><div class="kiln-tb-entry-info" hidden></div></div>`
        : '';
    return (
      `<tr class="kiln-tb-row-${escapeHtml(op.result)}"><td data-label="#">${i + 1}</td><td data-label="Operation">${escapeHtml(op.op)}</td>` +
      `<td data-label="Key"><code title="${escapeHtml(op.key)}">${escapeHtml(op.readableKey)}</code>${error}${entry}</td><td data-label="Origin">${origin(op)}</td>` +
      `<td data-label="Result">${badge(op.result.toUpperCase())}</td><td data-label="Time" class="kiln-tb-num">${formatMs(op.durationMs)}</td>` +
      `<td data-label="Size" class="kiln-tb-num">${formatBytes(op.bytes)}</td></tr>`
    );
  });
  const more = dropped > 0 ? `<p class="kiln-tb-empty">${dropped} more not kept.</p>` : '';
  return (
    '<table class="kiln-tb-table kiln-tb-stack kiln-tb-cache-ops"><thead><tr><th>#</th><th>Operation</th><th>Key</th><th>Origin</th>' +
    `<th>Result</th><th class="kiln-tb-num">Time</th><th class="kiln-tb-num">Size</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}`
  );
}

function cachePanel(record: RequestRecord, actions: boolean): string {
  const t = cacheTotals(record.cache);
  return (
    `<p class="kiln-tb-summary kiln-tb-page">Page: ${pageLine(record)}</p>` +
    `<p class="kiln-tb-summary"><b>${t.calls}</b> calls · <b>${t.hits}</b> hits · ` +
    `<b>${t.misses}</b> misses · hit ratio <b>${hitRatio(t.hits, t.misses)}</b> · <b>${formatMs(t.timeMs)}</b> in cache</p>` +
    renderCacheTable(record.cache, record.dropped.cache, actions)
  );
}

function definitionList(items: ReadonlyArray<readonly [string, string]>): string {
  return `<dl class="kiln-tb-dl">${items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function requestPanel(record: RequestRecord): string {
  const { timings } = record;
  return definitionList([
    ['Request', `<code>${escapeHtml(`${record.method} ${record.url}`)}</code>`],
    ['Route', record.route === undefined ? '<span class="kiln-tb-empty">no route matched</span>' : `<code>${escapeHtml(record.route)}</code>`],
    ['Status', escapeHtml(record.status ?? '…')],
    // The id to look for in the access log.
    ...(record.requestId === undefined ? [] : [['X-Request-Id', `<code>${escapeHtml(record.requestId)}</code>`] as const]),
    ['Page cache', pageLine(record)],
    ['Total', formatMs(timings.totalMs)],
    ['Render', formatMs(timings.renderMs)],
    ['Database', `${formatMs(timings.dbMs)} (${record.queries.length + record.dropped.queries} queries)`],
    ['Cache', `${formatMs(timings.cacheMs)} (${record.cache.length + record.dropped.cache} operations)`],
    ['Toolbar record', `<code>${escapeHtml(record.id)}</code>`],
  ]);
}

function templatesPanel(record: RequestRecord): string {
  const counts = new Map<string, number>();
  for (const name of record.templates) counts.set(name, (counts.get(name) ?? 0) + 1);
  const list =
    counts.size === 0
      ? '<p class="kiln-tb-empty">No templates rendered.</p>'
      : `<ol class="kiln-tb-list">${[...counts].map(([name, n]) => `<li><code>${escapeHtml(name)}</code>${n > 1 ? ` ×${n}` : ''}</li>`).join('')}</ol>`;
  const fragments = record.cache.filter((op) => op.origin === 'fragment');
  const lookups = fragments.filter((op) => op.op === 'get');
  const hits = lookups.filter((op) => op.result === 'hit').length;
  const misses = lookups.filter((op) => op.result === 'miss').length;
  return (
    `<h3>Templates</h3>${list}<h3>Fragments</h3>` +
    `<p class="kiln-tb-summary"><b>${hits}</b> fragment hits · <b>${misses}</b> fragment misses</p>${renderCacheTable(fragments)}`
  );
}

const COUNTER_COLUMNS = ['Hits', 'Misses', 'Sets', 'Deletes', 'Errors', 'Hit ratio', 'Bytes'] as const;

function countersRow(name: string, c: CacheCounters): string {
  const values = [c.hits, c.misses, c.sets, c.deletes, c.errors, hitRatio(c.hits, c.misses), formatBytes(c.bytes)];
  const cells = values.map((v, i) => `<td class="kiln-tb-num" data-label="${COUNTER_COLUMNS[i]}">${v}</td>`).join('');
  return `<tr><th scope="row">${escapeHtml(name)}</th>${cells}</tr>`;
}

function statsPanel(view: ToolbarView): string {
  const clear =
    '<p><button type="button" class="kiln-tb-clear">Clear cache</button> <span class="kiln-tb-clear-result" role="status"></span></p>';
  const { stats } = view;
  if (!stats) return `<p class="kiln-tb-empty">The cache's counters could not be read.</p>${clear}`;
  const head = `<thead><tr><th></th>${COUNTER_COLUMNS.map((h) => `<th class="kiln-tb-num">${h}</th>`).join('')}</tr></thead>`;
  const origins = Object.entries(stats.origins).map(([name, c]) => countersRow(name, c)).join('');
  const backends = Object.entries(stats.backends).map(([name, c]) => countersRow(name, c)).join('');
  const size = [
    stats.backend.entries === undefined ? 'entries unknown' : `${stats.backend.entries} entries`,
    stats.backend.bytes === undefined ? 'size unknown' : formatBytes(stats.backend.bytes),
  ].join(', ');
  const breaker = view.breakerState === undefined ? 'no circuit breaker' : `circuit breaker ${escapeHtml(view.breakerState)}`;
  return (
    `<h3>Per origin, since start</h3><table class="kiln-tb-table kiln-tb-stack">${head}<tbody>${origins}</tbody></table>` +
    `<h3>Per backend, since start</h3><table class="kiln-tb-table kiln-tb-stack">${head}<tbody>${backends}</tbody></table>` +
    `<p class="kiln-tb-summary">Backend holds ${size} · health <b>${escapeHtml(stats.health)}</b> · ${breaker} · ` +
    `${stats.corrupt} corrupt entries dropped</p>${clear}`
  );
}

function historyPanel(view: ToolbarView): string {
  if (view.history.length === 0) return '<p class="kiln-tb-empty">No earlier requests.</p>';
  return view.history
    .map((r) => {
      const writes = r.cache.filter((op) => op.result === 'delete' || op.result === 'set').length;
      return (
        `<details class="kiln-tb-history" data-request-id="${escapeHtml(r.id)}"><summary><code>${escapeHtml(`${r.method} ${r.url}`)}</code> → ` +
        `${escapeHtml(r.status ?? '…')} ${pageBadge(r)} <span class="kiln-tb-reason">${escapeHtml(pageReason(r))}</span> · ${r.cache.length} cache ops (${writes} writes) · ` +
        `${r.queries.length} SQL · ${formatMs(r.timings.totalMs)}</summary>${renderCacheTable(r.cache, r.dropped.cache)}</details>`
      );
    })
    .join('');
}

const TABS = ['Cache', 'Request', 'Headers', 'SQL', 'Templates', 'Logging', 'Settings', 'Versions', 'Routes', 'Stats', 'History'] as const;
type Tab = (typeof TABS)[number];

/** Each tab's panel for this view. */
function panelsOf(view: ToolbarView): Record<Tab, string> {
  const { record } = view;
  return {
    Cache: cachePanel(record, view.actions === true),
    Request: requestPanel(record),
    Headers: headersPanel(record),
    SQL: sqlPanel(record, view.explain === true),
    Templates: templatesPanel(record),
    Logging: loggingPanel(record),
    Settings: settingsPanel(view.settings),
    Versions: versionsPanel(view.versions),
    Routes: routesPanel(view.routes ?? [], record.route),
    Stats: statsPanel(view),
    History: historyPanel(view),
  };
}

/**
 * The tab list and panels, following the WAI-ARIA tabs pattern: each tab names the panel it
 * controls, only the selected tab is in the Tab order (the arrow keys move between tabs, in
 * toolbar.js), and each panel is labelled by its tab.
 */
function tabsAndPanels(view: ToolbarView): string {
  const { record } = view;
  const panels = panelsOf(view);
  const counts: Partial<Record<Tab, number>> = { Cache: record.cache.length, SQL: record.queries.length, Templates: record.templates.length, Logging: record.logs.length };
  const tabs = TABS.map((tab, i) => {
    const name = tab.toLowerCase();
    const n = counts[tab] === undefined ? '' : ` <small>${counts[tab]}</small>`;
    return (
      `<button type="button" role="tab" class="kiln-tb-tab" id="kiln-tb-tab-${name}" data-tab="${name}" aria-controls="kiln-tb-panel-${name}" ` +
      `aria-selected="${i === 0}" tabindex="${i === 0 ? 0 : -1}">${tab}${n}</button>`
    );
  }).join('');
  const sections = TABS.map((tab, i) => {
    const name = tab.toLowerCase();
    return (
      `<section class="kiln-tb-panel" role="tabpanel" id="kiln-tb-panel-${name}" aria-labelledby="kiln-tb-tab-${name}" tabindex="0" ` +
      `data-panel="${name}"${i === 0 ? '' : ' hidden'}>${panels[tab]}</section>`
    );
  }).join('');
  return `<div class="kiln-tb-tabs" role="tablist" aria-label="Dev toolbar">${tabs}</div>${sections}`;
}

/** The whole bar for one request: a collapsed handle, and tabs that the script opens. */
export function renderToolbar(view: ToolbarView): string {
  const { record, urls } = view;
  const handle =
    `<span class="kiln-tb-logo">Kiln</span> ${pageBadge(record)} <span>${formatMs(record.timings.totalMs)}</span> ` +
    `<span class="kiln-tb-counts">${record.cache.length} cache · ${record.queries.length} SQL</span>`;
  return (
    `<div id="kiln-toolbar" class="kiln-tb" data-request-id="${escapeHtml(record.id)}" data-page-cache="${escapeHtml(record.pageCache ?? '')}" ` +
    `data-base-url="${escapeHtml(urls.base)}" data-data-url="${escapeHtml(`${urls.base}/${record.id}`)}" data-clear-url="${escapeHtml(`${urls.base}/cache/clear`)}" ` +
    `data-clear-token="${escapeHtml(view.clearToken)}">` +
    `<button type="button" class="kiln-tb-handle" aria-expanded="false" aria-controls="kiln-tb-body" title="Kiln dev toolbar">${handle}</button>` +
    `<div class="kiln-tb-body" id="kiln-tb-body" hidden>${tabsAndPanels(view)}</div></div>` +
    `<link rel="stylesheet" href="${escapeHtml(urls.css)}">` +
    `<script src="${escapeHtml(urls.js)}" defer></script>`
  );
}
