import { readFileSync } from 'node:fs';
import { Cache, MemoryBackend, pageBodyKey, parseSize, viewKey } from '../src/cache/index.ts';
import { encodeStoredPage, storedPageOf } from '../src/cache/koa/page-cache/stored-page.ts';

/**
 * The memory bound, measured in a process of its own (`node --expose-gc --import tsx
 * bench/memory-bound.ts BODY_FILE PAGES MAX_BYTES`): PAGES distinct index pages, each stored
 * exactly as cacheView stores one (the body under its content key, the tagged record under the
 * page key), go through a Cache over a MemoryBackend bounded by MAX_BYTES (entry count unbounded,
 * so bytes are the only limit). Prints `MEMJSON {...}`: RSS after a full GC before and after,
 * the peak RSS, and what the backend holds.
 */

/** What the memory-bound run measured; sizes in bytes. */
export interface MemoryBoundResult {
  pages: number;
  maxBytes: number;
  /** Entries and bytes the backend counts at the end (its own accounting, 2 bytes per UTF-16 unit). */
  entries: number;
  countedBytes: number;
  rssBefore: number;
  rssAfter: number;
  /** Highest RSS of the process over the run (VmHWM). */
  rssPeak: number;
  heapUsedAfter: number;
  seconds: number;
}

function procStatus(field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
}

async function main(bodyFile: string, pages: number, maxBytes: number): Promise<MemoryBoundResult> {
  const template = readFileSync(bodyFile, 'utf8');
  const cut = template.lastIndexOf('</body>');
  const head = cut >= 0 ? template.slice(0, cut) : template;
  const tail = cut >= 0 ? template.slice(cut) : '';
  const backend = new MemoryBackend({ prefix: 'kiln:', threshold: Number.MAX_SAFE_INTEGER, maxBytes });
  const cache = new Cache({ backend, defaultTimeout: 1200 });
  const headers = [['content-type', 'text/html; charset=utf-8']] as const;
  const tags = ['lists', 'sidebar'];
  collect();
  const rssBefore = procStatus('VmRSS');
  const started = performance.now();
  for (let i = 0; i < pages; i++) {
    // Distinct bytes per page, so every page has its own body entry (bodies are shared by hash).
    const body = Buffer.from(`${head}<!-- page ${i} -->${tail}`, 'utf8');
    const { record, text } = encodeStoredPage(storedPageOf(body, headers, Date.now()));
    await cache.set(pageBodyKey(record.etag), text, { timeout: 1260, origin: 'view' });
    await cache.set(viewKey('page:index', '/', `page=${i}`, { queryString: true }), record, { timeout: 1200, tags, origin: 'view' });
  }
  const seconds = (performance.now() - started) / 1000;
  collect();
  const stats = await backend.stats();
  return {
    pages,
    maxBytes,
    entries: stats.entries ?? 0,
    countedBytes: stats.bytes ?? 0,
    rssBefore,
    rssAfter: procStatus('VmRSS'),
    rssPeak: procStatus('VmHWM'),
    heapUsedAfter: process.memoryUsage().heapUsed,
    seconds,
  };
}

const [bodyFile, pages, maxBytes] = process.argv.slice(2);
if (!bodyFile || !pages || !maxBytes) {
  process.stderr.write('usage: node --expose-gc --import tsx bench/memory-bound.ts BODY_FILE PAGES MAX_BYTES\n');
  process.exit(2);
}
main(bodyFile, Number(pages), parseSize('MAX_BYTES', maxBytes)).then(
  (result) => process.stdout.write(`MEMJSON ${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`memory bound failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
