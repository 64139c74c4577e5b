import type { AfterQueryEvent, DataSource, EntitySubscriberInterface, Logger, ObjectLiteral, QueryRunner } from 'typeorm';
import type { QueryReport } from '../../cache/toolbar/index.ts';

/** Where finished queries go (the toolbar's collector). */
export interface QuerySink {
  recordQuery(query: QueryReport): void;
}

interface Pending {
  sql: string;
  parameters: number;
  /** Passed on only to be digested (the sink never keeps values: they can hold session ids). */
  values: readonly unknown[] | undefined;
  start: number;
}

/**
 * Times every SQL query TypeORM runs and reports it, with its duration, to a sink.
 *
 * Why two hooks (TypeORM 1.1.1): `Logger.logQuery` is called just before a query runs and has no
 * duration; `logQuerySlow` carries one, but only above `maxQueryExecutionTime` and measured with
 * `Date.now()` (whole milliseconds, so a typical SQLite query reads 0). So the start is taken in
 * `logQuery` and the end in the subscriber hook `afterQuery`, which every driver broadcasts right
 * after the result (or error) is back, both with `performance.now()`. Pending starts are kept
 * per query runner (a runner's queries may overlap, so they are matched by text, oldest first).
 * Everything else is passed to the logger that was there before.
 */
export class SqlLogger implements Logger, EntitySubscriberInterface {
  private readonly pending = new WeakMap<object, Pending[]>();
  private readonly shared = {};

  constructor(
    private readonly sink: QuerySink,
    private readonly inner?: Logger,
  ) {}

  /** Notes the start of a query. */
  logQuery(query: string, parameters?: QueryParameters, queryRunner?: QueryRunner): void {
    const owner = queryRunner ?? this.shared;
    const list = this.pending.get(owner) ?? [];
    list.push({ sql: query, parameters: countParameters(parameters), values: valuesOf(parameters), start: performance.now() });
    this.pending.set(owner, list);
    this.inner?.logQuery(query, parameters, queryRunner);
  }

  /** Reports the query that just finished (successfully or not) with its duration. */
  afterQuery(event: AfterQueryEvent): void {
    const end = performance.now();
    const owner = event.queryRunner ?? this.shared;
    const list = this.pending.get(owner);
    const index = list ? list.findIndex((p) => p.sql === event.query) : -1;
    if (!list || index < 0) return;
    const [started] = list.splice(index, 1);
    const error = event.success ? undefined : messageOf(event.error);
    this.sink.recordQuery({
      sql: started.sql,
      parameters: started.parameters,
      values: started.values,
      durationMs: end - started.start,
      ...(error === undefined ? {} : { error }),
    });
  }

  /** Passes failures on; the failed query itself is reported by `afterQuery`. */
  logQueryError(error: string | Error, query: string, parameters?: QueryParameters, queryRunner?: QueryRunner): void {
    this.inner?.logQueryError(error, query, parameters, queryRunner);
  }

  /** Passes slow queries on (the duration reported to the sink is measured more finely). */
  logQuerySlow(time: number, query: string, parameters?: QueryParameters, queryRunner?: QueryRunner): void {
    this.inner?.logQuerySlow(time, query, parameters, queryRunner);
  }

  /** Passed on. */
  logSchemaBuild(message: string, queryRunner?: QueryRunner): void {
    this.inner?.logSchemaBuild(message, queryRunner);
  }

  /** Passed on. */
  logMigration(message: string, queryRunner?: QueryRunner): void {
    this.inner?.logMigration(message, queryRunner);
  }

  /** Passed on. */
  log(level: 'log' | 'info' | 'warn', message: unknown, queryRunner?: QueryRunner): void {
    this.inner?.log(level, message, queryRunner);
  }
}

/**
 * Installs a {@link SqlLogger} on an initialized DataSource: as its logger (wrapping the one it
 * had) and as a subscriber, so every later query is reported to `sink`.
 *
 * @example
 * attachSqlLogger(dataSource, toolbar.collector);
 */
export function attachSqlLogger(dataSource: DataSource, sink: QuerySink): SqlLogger {
  const logger = new SqlLogger(sink, dataSource.logger);
  dataSource.setOptions({ logger });
  dataSource.subscribers.push(logger);
  return logger;
}

type QueryParameters = unknown[] | ObjectLiteral;

function countParameters(parameters: QueryParameters | undefined): number {
  if (Array.isArray(parameters)) return parameters.length;
  if (parameters !== null && typeof parameters === 'object') return Object.keys(parameters).length;
  return 0;
}

function valuesOf(parameters: QueryParameters | undefined): readonly unknown[] | undefined {
  if (Array.isArray(parameters)) return parameters;
  if (parameters !== null && typeof parameters === 'object') return Object.entries(parameters);
  return undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return error === undefined ? 'query failed' : String(error);
}
