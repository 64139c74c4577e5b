import { describe, expect, it } from 'vitest';
import { parseNodeLoaderOutput, parseWrkOutput } from '../../bench/wrk.ts';

describe('parseWrkOutput()', () => {
  it('reads the summary line bench/wrk-report.lua makes wrk print', () => {
    const text = [
      'Running 5s test @ http://127.0.0.1:1/',
      'WRKJSON {"requests":50000,"durationUs":5000000,"bytes":350000000,"p50Us":1500,"p99Us":9000,"maxUs":20000,' +
        '"connectErrors":0,"readErrors":1,"writeErrors":0,"statusErrors":3,"timeouts":2}',
    ].join('\n');
    expect(parseWrkOutput(text)).toEqual({ rps: 10_000, p50Ms: 1.5, p99Ms: 9, requests: 50_000, errors: 3, badStatus: 3, bytesPerResponse: 7000, tool: 'wrk' });
  });

  it('refuses output without a summary', () => {
    expect(() => parseWrkOutput('unable to connect')).toThrow(/no summary/);
    expect(() => parseNodeLoaderOutput('')).toThrow(/no summary/);
  });
});
