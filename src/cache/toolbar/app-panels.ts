import type { RouteRow, Versions } from './app-info.ts';
import type { RequestRecord } from './collector.ts';
import type { HeaderPair } from './mask.ts';
import { escapeHtml, formatMs } from './html.ts';

/**
 * The tabs about the request and the app around it: Headers, Settings, Versions, Logging and
 * Routes. Every value goes through escapeHtml; secrets were masked before they got here (mask.ts).
 */

function headerTable(caption: string, pairs: readonly HeaderPair[]): string {
  if (pairs.length === 0) return `<h3>${caption}</h3><p class="kiln-tb-empty">None recorded.</p>`;
  const rows = pairs.map(([name, value]) => `<tr><th scope="row"><code>${escapeHtml(name)}</code></th><td><code>${escapeHtml(value)}</code></td></tr>`);
  return `<h3>${caption}</h3><table class="kiln-tb-table kiln-tb-pairs"><tbody>${rows.join('')}</tbody></table>`;
}

/** The request's and the response's headers (cookies and credentials masked). */
export function headersPanel(record: RequestRecord): string {
  return (
    headerTable('Request headers', record.headers.request) +
    headerTable('Response headers', record.headers.response) +
    '<p class="kiln-tb-empty">Response headers as the app made them, before the toolbar removed the ETag and set no-store.</p>'
  );
}

/** `a.b.c` → value rows of a settings object, arrays shown whole. */
function flatten(value: unknown, prefix: string, out: Array<[string, string]>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push([prefix, '{}']);
    for (const [key, item] of entries) flatten(item, prefix === '' ? key : `${prefix}.${key}`, out);
    return;
  }
  out.push([prefix, value === undefined ? 'not set' : JSON.stringify(value)]);
}

/** The effective configuration, every secret masked. */
export function settingsPanel(settings: unknown): string {
  if (settings === undefined) return '<p class="kiln-tb-empty">The application passed no settings.</p>';
  const rows: Array<[string, string]> = [];
  flatten(settings, '', rows);
  return `<table class="kiln-tb-table kiln-tb-pairs"><tbody>${rows
    .map(([name, value]) => `<tr><th scope="row"><code>${escapeHtml(name)}</code></th><td><code>${escapeHtml(value)}</code></td></tr>`)
    .join('')}</tbody></table>`;
}

/** Node, the libraries and the servers, as the application reported them. */
export function versionsPanel(versions: Versions | undefined): string {
  if (versions === undefined) return '<p class="kiln-tb-empty">Versions could not be read.</p>';
  const rows = Object.entries(versions).map(([name, version]) => `<tr><th scope="row">${escapeHtml(name)}</th><td><code>${escapeHtml(version)}</code></td></tr>`);
  return `<table class="kiln-tb-table kiln-tb-pairs"><tbody>${rows.join('')}</tbody></table>`;
}

/** The log lines the request produced, in order. */
export function loggingPanel(record: RequestRecord): string {
  const more = record.dropped.logs > 0 ? `<p class="kiln-tb-empty">${record.dropped.logs} more not kept.</p>` : '';
  if (record.logs.length === 0) return `<p class="kiln-tb-empty">This request logged nothing.</p>${more}`;
  const rows = record.logs.map(
    (line) =>
      `<tr class="kiln-tb-log-${escapeHtml(line.level)}"><td class="kiln-tb-num">${formatMs(line.atMs)}</td>` +
      `<td><span class="kiln-tb-badge kiln-tb-level-${escapeHtml(line.level)}">${escapeHtml(line.level.toUpperCase())}</span></td>` +
      `<td><code class="kiln-tb-sql">${escapeHtml(line.msg)}</code></td></tr>`,
  );
  return (
    '<table class="kiln-tb-table kiln-tb-stack"><thead><tr><th class="kiln-tb-num">At</th><th>Level</th><th>Message</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>${more}`
  );
}

/** The app's route table, with the route this request matched marked. */
export function routesPanel(routes: readonly RouteRow[], matched: string | undefined): string {
  if (routes.length === 0) return '<p class="kiln-tb-empty">The application passed no route table.</p>';
  const rows = routes.map((route) => {
    const here = route.path === matched ? ' class="kiln-tb-current" aria-current="true"' : '';
    return (
      `<tr${here}><td data-label="Methods">${escapeHtml(route.methods.join(', '))}</td><td data-label="Path"><code>${escapeHtml(route.path)}</code></td>` +
      `<td data-label="Name">${route.name === undefined ? '' : `<code>${escapeHtml(route.name)}</code>`}</td></tr>`
    );
  });
  return (
    `<p class="kiln-tb-summary"><b>${routes.length}</b> routes${matched === undefined ? '' : ` · this request: <code>${escapeHtml(matched)}</code>`}</p>` +
    `<table class="kiln-tb-table kiln-tb-stack"><thead><tr><th>Methods</th><th>Path</th><th>Name</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}
