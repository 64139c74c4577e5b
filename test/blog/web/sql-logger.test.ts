import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { PostService } from '../../../src/blog/services/posts.ts';
import { attachSqlLogger } from '../../../src/blog/web/sql-logger.ts';
import { RequestCollector, type QueryReport } from '../../../src/cache/toolbar/collector.ts';
import { FakeClock } from '../../support/fake-clock.ts';

let dir: string;
let ds: DataSource;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-sql-logger-'));
  ds = await openDatabase(`sqlite:${join(dir, 'kiln.sqlite')}`);
});

afterEach(async () => {
  await ds.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('attachSqlLogger()', () => {
  it('reports every query with its parameter count and a measured duration', async () => {
    const reports: QueryReport[] = [];
    attachSqlLogger(ds, { recordQuery: (q) => reports.push(q) });
    await ds.query('SELECT ? + ? AS n', [1, 2]);
    await ds.query('SELECT 1');
    expect(reports.map((r) => [r.sql, r.parameters])).toEqual([
      ['SELECT ? + ? AS n', 2],
      ['SELECT 1', 0],
    ]);
    for (const r of reports) {
      expect(Number.isFinite(r.durationMs)).toBe(true);
      expect(r.error).toBeUndefined();
    }
  });

  it('measures the query itself: a slow query takes longer than a trivial one', async () => {
    const reports: QueryReport[] = [];
    attachSqlLogger(ds, { recordQuery: (q) => reports.push(q) });
    await ds.query('SELECT 1');
    // A recursive count to 300,000 keeps SQLite busy for tens of milliseconds.
    await ds.query('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c');
    expect(reports).toHaveLength(2);
    expect(reports[1].durationMs).toBeGreaterThan(reports[0].durationMs);
    expect(reports[1].durationMs).toBeGreaterThan(1);
  });

  it('reports a failed query with its error', async () => {
    const reports: QueryReport[] = [];
    attachSqlLogger(ds, { recordQuery: (q) => reports.push(q) });
    await expect(ds.query('SELECT * FROM no_such_table')).rejects.toThrow();
    expect(reports).toHaveLength(1);
    expect(reports[0].error).toMatch(/no_such_table/);
  });

  it('puts the queries of a request into its toolbar record, and none outside a request', async () => {
    const collector = new RequestCollector();
    attachSqlLogger(ds, collector);
    const posts = new PostService(ds, new FakeClock(Date.UTC(2026, 0, 1)));
    await posts.create({ title: 'Hello', body: 'x', category: 'general', published: true });
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      await posts.listPublished({ page: 1, perPage: 10 });
      return r;
    });
    expect(record.queries.length).toBeGreaterThan(0);
    expect(record.queries.every((q) => /SELECT/i.test(q.sql))).toBe(true);
    expect(record.timings.dbMs).toBeCloseTo(record.queries.reduce((sum, q) => sum + q.durationMs, 0), 6);
    expect(collector.size).toBe(1);
  });
});
