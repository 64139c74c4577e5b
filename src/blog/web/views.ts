import nunjucks from 'nunjucks';
import { renderTemplate } from '../../cache/nunjucks/index.ts';

/** Nunjucks tag delimiters: blocks are `<% %>` (so `{% %}` stays free in posts), variables `{{ }}`. */
export const VIEW_TAGS = {
  blockStart: '<%',
  blockEnd: '%>',
  variableStart: '{{',
  variableEnd: '}}',
  commentStart: '<#',
  commentEnd: '#>',
} as const;

/** A configured template environment and an async render over it. */
export interface Views {
  /** The Nunjucks environment, for extensions (e.g. the `<% cache %>` fragment tag). */
  env: nunjucks.Environment;
  /** Renders `template` with `context`; async so asynchronous extensions work. */
  render(template: string, context: Record<string, unknown>): Promise<string>;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** Formats a date for people, e.g. "3 March 2025" (UTC). */
export function humanDate(value: unknown): string {
  const date = toDate(value);
  return date ? dateFormat.format(date) : '';
}

/** Formats a date as ISO 8601 for `<time datetime>` and feeds. */
export function isoDate(value: unknown): string {
  const date = toDate(value);
  return date ? date.toISOString() : '';
}

function toDate(value: unknown): Date | null {
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/**
 * Builds the views over `dir` with autoescaping on. `noCache` re-reads templates on each render
 * (development).
 */
export function createViews(options: { dir: string; noCache: boolean }): Views {
  const loader = new nunjucks.FileSystemLoader(options.dir, { noCache: options.noCache });
  const env = new nunjucks.Environment(loader, { autoescape: true, throwOnUndefined: false, tags: VIEW_TAGS });
  env.addFilter('date', humanDate);
  env.addFilter('isodate', isoDate);
  return {
    env,
    // renderTemplate turns an asynchronous tag that Nunjucks would silently drop into an error.
    render: (template, context) => renderTemplate(env, template, context),
  };
}
