import { Agent, request } from 'node:http';

/**
 * The fallback load generator, for machines without wrk (`node --import tsx bench/load.ts URL
 * CONNECTIONS DURATION_MS [HEADERS_JSON]`): CONNECTIONS keep-alive connections each send one GET after another
 * until the time is up, then one `LOADJSON {...}` line gives req/s and latency percentiles. It
 * is slower than wrk (it shares the event loop with its own bookkeeping), so figures from it
 * are lower bounds; the report says which generator ran.
 */

function percentileOf(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(url: string, connections: number, durationMs: number, headers: Record<string, string>): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  let badStatus = 0;
  let bytes = 0;
  const start = performance.now();
  const deadline = start + durationMs;

  const once = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request(url, { agent, headers }, (res) => {
        // About what came over the wire: the status line, each header with its `: ` and CRLF, the blank line, then the body.
        bytes += 'HTTP/1.1 200 OK\r\n\r\n'.length + res.rawHeaders.reduce((sum, part) => sum + Buffer.byteLength(part) + 2, 0);
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => {
          latencies.push(performance.now() - sent);
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 400) badStatus += 1;
          resolve();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end();
    });

  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const summary = {
    rps: latencies.length / elapsed,
    p50Ms: percentileOf(sorted, 50),
    p99Ms: percentileOf(sorted, 99),
    requests: latencies.length,
    errors,
    badStatus,
    bytesPerResponse: latencies.length > 0 ? bytes / latencies.length : Number.NaN,
  };
  process.stdout.write(`LOADJSON ${JSON.stringify(summary)}\n`);
}

const [url, connections, durationMs, headers] = process.argv.slice(2);
if (!url || !connections || !durationMs) {
  process.stderr.write('usage: node --import tsx bench/load.ts URL CONNECTIONS DURATION_MS [HEADERS_JSON]\n');
  process.exit(2);
}
main(url, Number(connections), Number(durationMs), headers ? (JSON.parse(headers) as Record<string, string>) : {}).catch((error: unknown) => {
  process.stderr.write(`load failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
