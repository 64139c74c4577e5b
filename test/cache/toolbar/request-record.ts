import type { RequestRecord } from '../../../src/cache/toolbar/collector.ts';

/** A finished `GET /` record with nothing collected (no route, no page cache result), as the panel renders it; `partial` overrides. */
export function requestRecord(partial: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'r',
    kind: 'request',
    method: 'GET',
    url: '/',
    startedAt: 0,
    status: 200,
    timings: { totalMs: 0, renderMs: 0, dbMs: 0, cacheMs: 0 },
    cache: [],
    queries: [],
    templates: [],
    logs: [],
    headers: { request: [], response: [] },
    dropped: { cache: 0, queries: 0, templates: 0, logs: 0 },
    finished: true,
    ...partial,
  };
}
