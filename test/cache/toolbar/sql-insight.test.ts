import { describe, expect, it } from 'vitest';
import type { CollectedQuery } from '../../../src/cache/toolbar/collector.ts';
import { analyseQueries, isExplainable, queryShape, REPEATED_SHAPE_WARNING } from '../../../src/cache/toolbar/sql-insight.ts';

function query(sql: string, paramsDigest?: string): CollectedQuery {
  return { sql, parameters: paramsDigest === undefined ? 0 : 1, durationMs: 1, atMs: 0, ...(paramsDigest === undefined ? {} : { paramsDigest }) };
}

describe('queryShape()', () => {
  it('replaces literals, placeholders and value lists, and collapses spaces', () => {
    expect(queryShape("SELECT * FROM post WHERE id = 3 AND title = 'it''s'")).toBe('SELECT * FROM post WHERE id = ? AND title = ?');
    expect(queryShape('SELECT *  FROM post\n WHERE id IN ($1, $2, $3)')).toBe('SELECT * FROM post WHERE id IN (…)');
    expect(queryShape('SELECT * FROM post WHERE id IN (?)')).toBe(queryShape('SELECT * FROM post WHERE id IN (?, ?, ?, ?)'));
    expect(queryShape('SELECT * FROM t2 WHERE c1 = ?')).toBe('SELECT * FROM t2 WHERE c1 = ?');
  });
});

describe('analyseQueries()', () => {
  it('groups identical queries with a count and flags similar ones', () => {
    const sql = 'SELECT * FROM post WHERE id = ?';
    const analysis = analyseQueries([query(sql, 'a'), query(sql, 'a'), query(sql, 'b'), query('SELECT 1')]);
    expect(analysis.identicalCounts).toEqual([2, 2, 1, 1]);
    expect(analysis.shapeCounts).toEqual([3, 3, 3, 1]);
    expect(analysis.groups).toEqual([{ shape: sql, indexes: [0, 1, 2], count: 3, identical: 1, totalMs: 3 }]);
    expect(analysis.warnings).toEqual([]);
  });

  it(`warns once a shape runs ${REPEATED_SHAPE_WARNING} times, not before`, () => {
    const runs = (n: number) => Array.from({ length: n }, (_, i) => query(`SELECT * FROM comment WHERE post_id = ${i}`));
    expect(analyseQueries(runs(REPEATED_SHAPE_WARNING - 1)).warnings).toEqual([]);
    const [warning] = analyseQueries(runs(REPEATED_SHAPE_WARNING)).warnings;
    expect(warning).toMatch(/ran 5 times \(0 exact repeats\): likely an N\+1/);
    expect(warning).toContain('SELECT * FROM comment WHERE post_id = ?');
  });
});

describe('isExplainable()', () => {
  it('accepts one SELECT and refuses writes, locks and several statements', () => {
    expect(isExplainable('SELECT * FROM post WHERE id = ?')).toBe(true);
    expect(isExplainable('  with x as (select 1) select * from x;')).toBe(true);
    expect(isExplainable("SELECT * FROM post WHERE title = 'a; b'")).toBe(true);
    expect(isExplainable('DELETE FROM post')).toBe(false);
    expect(isExplainable('SELECT 1; DELETE FROM post')).toBe(false);
    expect(isExplainable('SELECT * FROM post FOR UPDATE')).toBe(false);
    expect(isExplainable('WITH d AS (DELETE FROM post RETURNING *) SELECT * FROM d')).toBe(false);
    expect(isExplainable('SELECT * INTO copy FROM post')).toBe(false);
    expect(isExplainable('PRAGMA writable_schema = 1')).toBe(false);
  });
});
