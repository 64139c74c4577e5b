import type { CollectedQuery } from './collector.ts';

/**
 * The SQL tab's analysis of one request's queries, the N+1 hint of Django Debug Toolbar:
 * identical queries (same text, same parameters) are grouped with a count, similar ones (same
 * shape, other parameters or literals) are flagged, and a shape run {@link REPEATED_SHAPE_WARNING}
 * or more times gets a warning.
 */

/** How many runs of one query shape in a request earn a warning. */
export const REPEATED_SHAPE_WARNING = 5;

/** One query shape and the queries of that shape. */
export interface QueryGroup {
  /** The SQL with literals and placeholders replaced by `?`, lists by `(…)`, spaces collapsed. */
  shape: string;
  /** Indexes (0-based, into the request's queries) of the queries of this shape, in order. */
  indexes: number[];
  /** Runs of this shape. */
  count: number;
  /** Runs that repeated an earlier one exactly (same SQL and parameters). */
  identical: number;
  /** Sum of their durations. */
  totalMs: number;
}

/** What the SQL tab knows beyond the list. */
export interface QueryAnalysis {
  /** Shapes run more than once, most runs first. */
  groups: QueryGroup[];
  /** Per query (by index): how many queries of the request are exactly like it, itself included. */
  identicalCounts: number[];
  /** Per query: how many queries of the request share its shape, itself included. */
  shapeCounts: number[];
  /** Sentences for the developer, one per shape at or over the threshold. */
  warnings: string[];
}

/** The shape of a query: what stays when the values change. */
export function queryShape(sql: string): string {
  return sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\$\d+|:\w+|@\w+/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)*\s*\)/g, '(…)')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Groups a request's queries by shape and by exact repetition (see the module's comment). */
export function analyseQueries(queries: readonly CollectedQuery[]): QueryAnalysis {
  const byShape = new Map<string, QueryGroup>();
  const exact = new Map<string, number[]>();
  const shapes = queries.map((query, index) => {
    const shape = queryShape(query.sql);
    const group = byShape.get(shape) ?? { shape, indexes: [], count: 0, identical: 0, totalMs: 0 };
    group.indexes.push(index);
    group.count += 1;
    group.totalMs += query.durationMs;
    byShape.set(shape, group);
    const same = `${query.sql}\u0000${query.paramsDigest ?? ''}`;
    const seen = exact.get(same) ?? [];
    if (seen.length > 0) group.identical += 1;
    seen.push(index);
    exact.set(same, seen);
    return { shape, same };
  });
  const groups = [...byShape.values()].filter((g) => g.count > 1).sort((a, b) => b.count - a.count);
  const warnings = groups
    .filter((g) => g.count >= REPEATED_SHAPE_WARNING)
    .map((g) => `The same query shape ran ${g.count} times (${g.identical} exact repeats): likely an N+1 — load these rows in one query. ${g.shape}`);
  return {
    groups,
    identicalCounts: shapes.map(({ same }) => exact.get(same)?.length ?? 1),
    shapeCounts: shapes.map(({ shape }) => byShape.get(shape)?.count ?? 1),
    warnings,
  };
}

/** Whether a recorded query may be explained: one SELECT (or WITH … SELECT) statement, nothing after it. */
export function isExplainable(sql: string): boolean {
  const text = sql.trim().replace(/;\s*$/, '');
  if (!/^(?:select|with)\b/i.test(text)) return false;
  if (/\b(?:insert|update|delete|merge|into|for\s+update|for\s+share)\b/i.test(text.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''"))) return false;
  return !text.replace(/'(?:[^']|'')*'/g, "''").includes(';');
}
