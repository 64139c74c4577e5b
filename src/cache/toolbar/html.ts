/** Small HTML and formatting helpers shared by the toolbar's panels. */

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

/** A coloured label; its class is `kiln-tb-` and the label in lower case (see toolbar.css for the colours). */
export function badge(label: string, className = label.toLowerCase().replace(/[^a-z0-9]+/g, '-')): string {
  return `<span class="kiln-tb-badge kiln-tb-${escapeHtml(className)}">${escapeHtml(label)}</span>`;
}
