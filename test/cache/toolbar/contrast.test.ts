import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CollectedCacheOp } from '../../../src/cache/toolbar/collector.ts';
import { renderToolbar } from '../../../src/cache/toolbar/panel.ts';
import { requestRecord } from './request-record.ts';

// Every badge the bar can show keeps WCAG AA contrast (4.5:1) for its text, computed from the
// colours in toolbar.css.

const CSS = readFileSync(fileURLToPath(new URL('../../../static/toolbar/toolbar.css', import.meta.url)), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

/** WCAG relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The last `property` given to exactly the selector `.name` in a rule of toolbar.css (rules listing several selectors included). */
function declared(name: string, property: string): string | undefined {
  let found: string | undefined;
  for (const rule of CSS.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
    const selectors = rule[1].split(',').map((s) => s.trim());
    if (!selectors.includes(`.${name}`)) continue;
    const value = new RegExp(`(?:^|;)\\s*${property}:\\s*#([0-9a-f]{6}|[0-9a-f]{3})\\b`, 'i').exec(rule[2])?.[1];
    if (value !== undefined) found = `#${value.length === 3 ? [...value].map((c) => c + c).join('') : value}`.toLowerCase();
  }
  return found;
}

const op = (result: CollectedCacheOp['result']): CollectedCacheOp => ({ op: 'get', key: 'k', result, origin: 'direct', backend: 'memory', durationMs: 0, atMs: 0, readableKey: 'k' });

/** Every badge class the bar renders across the states a request can be in. */
function badgeClasses(): Set<string> {
  const sql = 'SELECT * FROM post WHERE id = ?';
  const html = renderToolbar({
    record: requestRecord({
      pageCache: 'STALE',
      cache: [op('hit'), op('miss'), op('set'), op('delete'), op('error')],
      queries: [0, 1, 2].map((i) => ({ sql, parameters: 1, durationMs: 0, atMs: 0, paramsDigest: i === 2 ? 'b' : 'a' })),
      logs: ['debug', 'info', 'warn', 'error'].map((level) => ({ level, msg: 'm', atMs: 0 })),
    }),
    history: [requestRecord({ pageCache: 'HIT' }), requestRecord({ pageCache: 'MISS' }), requestRecord({ pageCache: 'BYPASS' }), requestRecord({}), requestRecord({ kind: 'action' })],
    clearToken: 't',
    urls: { base: '/_toolbar', css: '/c.css', js: '/j.js' },
  });
  return new Set([...html.matchAll(/class="kiln-tb-badge kiln-tb-([a-z0-9-]+)"/g)].map((m) => m[1]));
}

describe('the toolbar\'s badges', () => {
  it('all have text at 4.5:1 or more against their background', () => {
    const classes = badgeClasses();
    expect([...classes]).toEqual(expect.arrayContaining(['hit', 'miss', 'set', 'delete', 'error', 'bypass', 'stale', 'none', 'toolbar-action', 'dup', 'similar', 'level-warn', 'level-error', 'level-info', 'level-debug']));
    const foreground = declared('kiln-tb-badge', 'color');
    const fallback = declared('kiln-tb-badge', 'background');
    if (foreground === undefined) throw new Error('no text colour for .kiln-tb-badge');
    const ratios = [...classes].map((name) => {
      const background = declared(`kiln-tb-${name}`, 'background') ?? fallback;
      if (background === undefined) throw new Error(`no background for .kiln-tb-${name}`);
      return [name, Math.round(contrast(foreground, background) * 100) / 100] as const;
    });
    for (const [name, ratio] of ratios) expect({ name, ratio: ratio >= 4.5 }).toEqual({ name, ratio: true });
  });
});
