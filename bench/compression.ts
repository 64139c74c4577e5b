import { request } from 'node:http';
import { ratio } from './stats.ts';
import type { KilnProcess, ServerProcess } from './servers.ts';
import type { Target, TargetResult } from './throughput.ts';

/**
 * The compression rows of the throughput phase: `/` requested with `Accept-Encoding: br, gzip`
 * from Kiln's memory and Redis caches (stored forms, no compression on a hit) and from the bare
 * Koa page behind koa-compress (compressed on every request), beside the bare Koa identity
 * baseline; and the body sizes of `/` in each coding.
 */

/** What the compression rows send: what browsers send, reduced to the codings Kiln makes. */
export const COMPRESSED_REQUEST: Readonly<Record<string, string>> = { 'Accept-Encoding': 'br, gzip' };

/** The row names, so the report finds them. */
export const COMPRESSION_ROWS = { memory: 'kiln memory br', redis: 'kiln redis br', koaCompress: 'koa-compress br' } as const;

/** The body of `/` in each coding, in bytes. */
export interface CompressionSizes {
  identity: number;
  /** Kiln's stored forms. */
  br: number;
  gzip: number;
  /** What koa-compress sends for `br, gzip` (brotli quality 4). */
  koaCompress: number;
}

/** The compression targets for `/`: Kiln memory and Redis (when running) and koa-compress, all asked for `br, gzip`. */
export function compressionTargets(kilns: ReadonlyMap<string, KilnProcess>, koaCompress: ServerProcess): Target[] {
  const targets: Target[] = [];
  for (const backend of ['memory', 'redis'] as const) {
    const kiln = kilns.get(backend);
    if (kiln) targets.push({ name: COMPRESSION_ROWS[backend], server: kiln, path: '/', kiln, headers: COMPRESSED_REQUEST });
  }
  targets.push({ name: COMPRESSION_ROWS.koaCompress, server: koaCompress, path: '/', headers: COMPRESSED_REQUEST });
  return targets;
}

/** The body bytes of one GET, as sent (never decompressed), and its `Content-Encoding`. */
function bodyOf(url: string, acceptEncoding: string | undefined): Promise<{ bytes: number; coding: string }> {
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding };
    const req = request(url, { headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ bytes, coding: String(res.headers['content-encoding'] ?? 'identity') }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The sizes of `/` from Kiln (`kilnUrl`, its page stored already) in each coding, and from koa-compress. */
export async function compressionSizes(kilnUrl: string, koaCompressUrl: string): Promise<CompressionSizes> {
  const identity = await bodyOf(`${kilnUrl}/`, undefined);
  const br = await bodyOf(`${kilnUrl}/`, 'br');
  const gzip = await bodyOf(`${kilnUrl}/`, 'gzip');
  const koa = await bodyOf(`${koaCompressUrl}/`, COMPRESSED_REQUEST['Accept-Encoding']);
  if (br.coding !== 'br' || gzip.coding !== 'gzip') throw new Error(`Kiln sent / as ${br.coding} and ${gzip.coding}, not br and gzip`);
  return { identity: identity.bytes, br: br.bytes, gzip: gzip.bytes, koaCompress: koa.bytes };
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 0 }) : '–');
const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');
const percent = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)} %` : '–');

/** The report's compression table: each row's req/s and CPU against bare Koa writing identity, and its bytes. */
export function compressionTable(bare: TargetResult, rows: readonly TargetResult[], sizes: CompressionSizes | undefined): string[] {
  const lines = [
    '| Server (`/`) | Accept-Encoding | Sent as | req/s | × bare identity | CPU µs/req | Body bytes | Body % of identity | Bytes/response on the wire |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const identity = sizes?.identity ?? Number.NaN;
  const line = (label: string, accept: string, sent: string, r: TargetResult | undefined, body: number) =>
    r &&
    lines.push(
      `| ${label} | ${accept} | ${sent} | ${fmt(r.rps)} | ${times(ratio(r.rps, bare.rps))} | ${fmt(r.cpuUs)} | ${fmt(body)} | ${percent(body / identity)} | ${fmt(r.bytesPerResponse)} |`,
    );
  const find = (name: string) => rows.find((r) => r.name === name && r.path === '/');
  line('**bare Koa** (identity bytes)', '–', 'identity', bare, identity);
  line('bare Koa + koa-compress', '`br, gzip`', 'br, per request', find(COMPRESSION_ROWS.koaCompress), sizes?.koaCompress ?? Number.NaN);
  line('Kiln memory HIT', '–', 'identity', find('kiln memory'), identity);
  line('Kiln memory HIT', '`br, gzip`', 'br, stored form', find(COMPRESSION_ROWS.memory), sizes?.br ?? Number.NaN);
  line('Kiln redis HIT', '`br, gzip`', 'br, stored form', find(COMPRESSION_ROWS.redis), sizes?.br ?? Number.NaN);
  if (sizes) lines.push('', `The gzip form of \`/\` is ${fmt(sizes.gzip)} bytes (${percent(sizes.gzip / sizes.identity)} of identity).`);
  return lines;
}

/** The compression targets measured beside the throughput rows (the br rows' req/s are judged with the other hits, in report.ts). */
export function compressionVerdicts(bare: TargetResult, rows: readonly TargetResult[], sizes: CompressionSizes | undefined) {
  const out: { target: string; measured: string; met: boolean | undefined }[] = [];
  if (sizes) {
    const share = sizes.br / sizes.identity;
    out.push({ target: 'bytes of / on the wire (br) ≤ 35 % of identity', measured: `${percent(share)} (${fmt(sizes.br)} of ${fmt(sizes.identity)} bytes)`, met: share <= 0.35 });
  }
  const koa = rows.find((row) => row.name === COMPRESSION_ROWS.koaCompress);
  if (koa) out.push({ target: 'bare Koa + koa-compress on / reported', measured: `${times(ratio(koa.rps, bare.rps))} bare identity req/s, ${fmt(koa.cpuUs)} µs CPU per request`, met: undefined });
  return out;
}
