import type { RequestRecord } from './collector.ts';
import { badge, escapeHtml, formatMs } from './html.ts';
import { analyseQueries, isExplainable, type QueryAnalysis } from './sql-insight.ts';

/**
 * The SQL tab: repeated shapes first (with the N+1 warning), then every query with how often it
 * or its shape ran, and an EXPLAIN button on the SELECTs when the app offers EXPLAIN.
 */

function groupsTable(analysis: QueryAnalysis): string {
  if (analysis.groups.length === 0) return '<p class="kiln-tb-empty">No query ran twice.</p>';
  const rows = analysis.groups.map(
    (g) =>
      `<tr><td data-label="Runs" class="kiln-tb-num">${g.count}</td><td data-label="Exact repeats" class="kiln-tb-num">${g.identical}</td>` +
      `<td data-label="Time" class="kiln-tb-num">${formatMs(g.totalMs)}</td><td data-label="Shape"><code class="kiln-tb-sql">${escapeHtml(g.shape)}</code></td></tr>`,
  );
  return (
    '<h3>Repeated query shapes</h3><table class="kiln-tb-table kiln-tb-stack"><thead><tr><th class="kiln-tb-num">Runs</th>' +
    `<th class="kiln-tb-num">Exact repeats</th><th class="kiln-tb-num">Time</th><th>Shape</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function repeatBadges(analysis: QueryAnalysis, i: number): string {
  const identical = analysis.identicalCounts[i];
  const similar = analysis.shapeCounts[i] - identical;
  const parts: string[] = [];
  if (identical > 1) parts.push(badge(`×${identical} identical`, 'dup'));
  if (similar > 0) parts.push(badge(`${similar} similar`, 'similar'));
  return parts.length === 0 ? '' : `<div class="kiln-tb-flags">${parts.join(' ')}</div>`;
}

/** The SQL tab of a request; `explain` says whether the EXPLAIN buttons are offered. */
export function sqlPanel(record: RequestRecord, explain: boolean): string {
  const count = record.queries.length + record.dropped.queries;
  const head = `<p class="kiln-tb-summary"><b>${count}</b> queries · <b>${formatMs(record.timings.dbMs)}</b> in the database</p>`;
  if (record.queries.length === 0) return `${head}<p class="kiln-tb-empty">No SQL queries.</p>`;
  const analysis = analyseQueries(record.queries);
  const warnings = analysis.warnings.map((w) => `<p class="kiln-tb-warning" role="note">⚠ ${escapeHtml(w)}</p>`).join('');
  const rows = record.queries.map((q, i) => {
    const error = q.error === undefined ? '' : `<div class="kiln-tb-errmsg">${escapeHtml(q.error)}</div>`;
    const button =
      explain && isExplainable(q.sql)
        ? `<button type="button" class="kiln-tb-action kiln-tb-explain" data-index="${i}">EXPLAIN</button><pre class="kiln-tb-plan" hidden></pre>`
        : '';
    return (
      `<tr><td data-label="#">${i + 1}</td><td data-label="Time" class="kiln-tb-num">${formatMs(q.durationMs)}</td>` +
      `<td data-label="SQL"><code class="kiln-tb-sql">${escapeHtml(q.sql)}</code>${repeatBadges(analysis, i)}${error}${button}</td>` +
      `<td data-label="Params" class="kiln-tb-num">${q.parameters}</td></tr>`
    );
  });
  return (
    `${head}${warnings}${groupsTable(analysis)}<h3>Queries in order</h3><table class="kiln-tb-table kiln-tb-stack"><thead><tr><th>#</th>` +
    `<th class="kiln-tb-num">Time</th><th>SQL</th><th class="kiln-tb-num">Params</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}
