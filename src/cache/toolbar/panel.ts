import type { CacheCounters, CacheStats } from '../telemetry.ts';
import type { CollectedCacheOp, RequestRecord } from './collector.ts';

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
}

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A duration for people: `0.42 ms`, `12.3 ms`, `250 ms`. */
export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** A size for people: `512 B`, `3.1 KiB`, `2.0 MiB`. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `hits / (hits + misses)` as a percentage, or an em dash when there were no lookups. */
export function hitRatio(hits: number, misses: number): string {
  return hits + misses === 0 ? '—' : `${Math.round((hits / (hits + misses)) * 100)}%`;
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

const badge = (label: string) => `<span class="kiln-tb-badge kiln-tb-${escapeHtml(label.toLowerCase())}">${escapeHtml(label)}</span>`;

function pageBadge(record: RequestRecord): string {
  if (!record.pageCache) return '<span class="kiln-tb-badge kiln-tb-none">not cached</span>';
  const reason = record.pageCacheReason ? ` <span class="kiln-tb-reason">(${escapeHtml(record.pageCacheReason)})</span>` : '';
  return `${badge(record.pageCache)}${reason}`;
}

function origin(op: CollectedCacheOp): string {
  const detail = op.detail === undefined ? '' : ` <span class="kiln-tb-detail">${escapeHtml(op.detail)}</span>`;
  return `${escapeHtml(op.origin)}${detail}`;
}

/** The table of a request's cache operations, in order. */
export function renderCacheTable(ops: readonly CollectedCacheOp[], dropped = 0): string {
  if (ops.length === 0) return '<p class="kiln-tb-empty">No cache operations.</p>';
  const rows = ops.map((op, i) => {
    const error = op.error === undefined ? '' : `<div class="kiln-tb-errmsg">${escapeHtml(op.error)}</div>`;
    return (
      `<tr class="kiln-tb-row-${escapeHtml(op.result)}"><td>${i + 1}</td><td>${escapeHtml(op.op)}</td>` +
      `<td><code title="${escapeHtml(op.key)}">${escapeHtml(op.readableKey)}</code>${error}</td><td>${origin(op)}</td>` +
      `<td>${badge(op.result.toUpperCase())}</td><td class="kiln-tb-num">${formatMs(op.durationMs)}</td>` +
      `<td class="kiln-tb-num">${formatBytes(op.bytes)}</td></tr>`
    );
  });
  const more = dropped > 0 ? `<p class="kiln-tb-empty">${dropped} more not kept.</p>` : '';
  return (
    '<table class="kiln-tb-table kiln-tb-cache-ops"><thead><tr><th>#</th><th>Operation</th><th>Key</th><th>Origin</th>' +
    `<th>Result</th><th class="kiln-tb-num">Time</th><th class="kiln-tb-num">Size</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}`
  );
}

function cachePanel(record: RequestRecord): string {
  const t = cacheTotals(record.cache);
  return (
    `<p class="kiln-tb-summary">Page: ${pageBadge(record)} · <b>${t.calls}</b> calls · <b>${t.hits}</b> hits · ` +
    `<b>${t.misses}</b> misses · hit ratio <b>${hitRatio(t.hits, t.misses)}</b> · <b>${formatMs(t.timeMs)}</b> in cache</p>` +
    renderCacheTable(record.cache, record.dropped.cache)
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
    ['Page cache', pageBadge(record)],
    ['Total', formatMs(timings.totalMs)],
    ['Render', formatMs(timings.renderMs)],
    ['Database', `${formatMs(timings.dbMs)} (${record.queries.length + record.dropped.queries} queries)`],
    ['Cache', `${formatMs(timings.cacheMs)} (${record.cache.length + record.dropped.cache} operations)`],
    ['Request id', `<code>${escapeHtml(record.id)}</code>`],
  ]);
}

function sqlPanel(record: RequestRecord): string {
  const count = record.queries.length + record.dropped.queries;
  const head = `<p class="kiln-tb-summary"><b>${count}</b> queries · <b>${formatMs(record.timings.dbMs)}</b> in the database</p>`;
  if (record.queries.length === 0) return `${head}<p class="kiln-tb-empty">No SQL queries.</p>`;
  const rows = record.queries.map((q, i) => {
    const error = q.error === undefined ? '' : `<div class="kiln-tb-errmsg">${escapeHtml(q.error)}</div>`;
    return (
      `<tr><td>${i + 1}</td><td class="kiln-tb-num">${formatMs(q.durationMs)}</td>` +
      `<td><code class="kiln-tb-sql">${escapeHtml(q.sql)}</code>${error}</td><td class="kiln-tb-num">${q.parameters}</td></tr>`
    );
  });
  return `${head}<table class="kiln-tb-table"><thead><tr><th>#</th><th class="kiln-tb-num">Time</th><th>SQL</th><th class="kiln-tb-num">Params</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
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

function countersRow(name: string, c: CacheCounters): string {
  const cells = [c.hits, c.misses, c.sets, c.deletes, c.errors].map((n) => `<td class="kiln-tb-num">${n}</td>`).join('');
  return `<tr><th scope="row">${escapeHtml(name)}</th>${cells}<td class="kiln-tb-num">${hitRatio(c.hits, c.misses)}</td><td class="kiln-tb-num">${formatBytes(c.bytes)}</td></tr>`;
}

function statsPanel(view: ToolbarView): string {
  const clear =
    '<p><button type="button" class="kiln-tb-clear">Clear cache</button> <span class="kiln-tb-clear-result" role="status"></span></p>';
  const { stats } = view;
  if (!stats) return `<p class="kiln-tb-empty">The cache's counters could not be read.</p>${clear}`;
  const head = `<tr><th></th>${['Hits', 'Misses', 'Sets', 'Deletes', 'Errors', 'Hit ratio', 'Bytes'].map((h) => `<th class="kiln-tb-num">${h}</th>`).join('')}</tr>`;
  const origins = Object.entries(stats.origins).map(([name, c]) => countersRow(name, c)).join('');
  const backends = Object.entries(stats.backends).map(([name, c]) => countersRow(name, c)).join('');
  const size = [
    stats.backend.entries === undefined ? 'entries unknown' : `${stats.backend.entries} entries`,
    stats.backend.bytes === undefined ? 'size unknown' : formatBytes(stats.backend.bytes),
  ].join(', ');
  const breaker = view.breakerState === undefined ? 'no circuit breaker' : `circuit breaker ${escapeHtml(view.breakerState)}`;
  return (
    `<h3>Per origin, since start</h3><table class="kiln-tb-table">${head}${origins}</table>` +
    `<h3>Per backend, since start</h3><table class="kiln-tb-table">${head}${backends}</table>` +
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
        `${escapeHtml(r.status ?? '…')} ${pageBadge(r)} · ${r.cache.length} cache ops (${writes} writes) · ` +
        `${r.queries.length} SQL · ${formatMs(r.timings.totalMs)}</summary>${renderCacheTable(r.cache, r.dropped.cache)}</details>`
      );
    })
    .join('');
}

const TABS = ['Cache', 'Request', 'SQL', 'Templates', 'Stats', 'History'] as const;

/** The whole bar for one request: a collapsed handle, and tabs that the script opens. */
export function renderToolbar(view: ToolbarView): string {
  const { record, urls } = view;
  const panels: Record<(typeof TABS)[number], string> = {
    Cache: cachePanel(record),
    Request: requestPanel(record),
    SQL: sqlPanel(record),
    Templates: templatesPanel(record),
    Stats: statsPanel(view),
    History: historyPanel(view),
  };
  const counts: Partial<Record<(typeof TABS)[number], number>> = {
    Cache: record.cache.length,
    SQL: record.queries.length,
    Templates: record.templates.length,
  };
  const tabs = TABS.map((tab, i) => {
    const n = counts[tab] === undefined ? '' : ` <small>${counts[tab]}</small>`;
    return `<button type="button" role="tab" class="kiln-tb-tab" data-tab="${tab.toLowerCase()}" aria-selected="${i === 0}">${tab}${n}</button>`;
  }).join('');
  const sections = TABS.map(
    (tab, i) => `<section class="kiln-tb-panel" role="tabpanel" data-panel="${tab.toLowerCase()}"${i === 0 ? '' : ' hidden'}>${panels[tab]}</section>`,
  ).join('');
  const handle =
    `<span class="kiln-tb-logo">Kiln</span> ${pageBadge(record)} <span>${formatMs(record.timings.totalMs)}</span> ` +
    `<span>${record.cache.length} cache · ${record.queries.length} SQL</span>`;
  return (
    `<div id="kiln-toolbar" class="kiln-tb" data-request-id="${escapeHtml(record.id)}" data-page-cache="${escapeHtml(record.pageCache ?? '')}" ` +
    `data-data-url="${escapeHtml(`${urls.base}/${record.id}`)}" data-clear-url="${escapeHtml(`${urls.base}/cache/clear`)}" ` +
    `data-clear-token="${escapeHtml(view.clearToken)}">` +
    `<button type="button" class="kiln-tb-handle" aria-expanded="false" aria-controls="kiln-tb-body" title="Kiln dev toolbar">${handle}</button>` +
    `<div class="kiln-tb-body" id="kiln-tb-body" hidden><div class="kiln-tb-tabs" role="tablist">${tabs}</div>${sections}</div></div>` +
    `<link rel="stylesheet" href="${escapeHtml(urls.css)}">` +
    `<script src="${escapeHtml(urls.js)}" defer></script>`
  );
}
