import type { RequestReport, RequestReporter } from '../../cache/index.ts';
import { logs, type LineLevel, type LineWriter, type LogFormat, type LogLevel } from '../../log.ts';

/** Options of {@link accessLog}. */
export interface AccessLogOptions {
  /** `LOG_LEVEL`: requests are `info` lines (`error` for a 5xx); `debug` adds the route, the page cache's reason and whether it was answered early. */
  level: LogLevel;
  format: LogFormat;
  /** The worker number written on each line (0: the only process). */
  worker: number;
  /** Where lines go (the server's buffered standard output). */
  out: LineWriter;
  now?: () => number;
}

/** Longest path written; a longer one is cut (a client chooses it). */
const MAX_PATH = 1024;

/**
 * The access log: one line per finished response, cached hits answered early included, as a
 * reporter of the request frame. A line has the method, the path, the status, the page cache's
 * `X-Cache`, the body bytes, the duration in ms, the request id and the worker. The path is
 * written without its query string, which can carry tokens (`?token=`, a login's `?next=`), and
 * no header or cookie is ever written. Undefined when `level` writes no request line.
 *
 * @example
 * reporters: [metrics.requestReporter(), accessLog({ level: 'info', format: 'json', worker: 1, out: stdoutLines() })]
 */
export function accessLog(options: AccessLogOptions): RequestReporter | undefined {
  const { level, format, worker, out, now = Date.now } = options;
  if (!logs(level, 'error')) return undefined;
  const details = logs(level, 'debug');
  const info = logs(level, 'info');
  const line = format === 'json' ? jsonLine : textLine;
  // Many requests end in the same millisecond under load: the timestamp is formatted once for them.
  let stampedAt = Number.NaN;
  let stamp = '';
  return {
    report(report: RequestReport): void {
      const at: LineLevel = report.status >= 500 ? 'error' : 'info';
      if (at === 'info' && !info) return;
      const ms = now();
      if (ms !== stampedAt) {
        stampedAt = ms;
        stamp = new Date(ms).toISOString();
      }
      out.write(line(report, at, stamp, worker, details));
    },
  };
}

function cut(path: string): string {
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Printable ASCII without `"` and `\`: written inside quotes as it is, in JSON and in text alike. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string, without JSON.stringify for the plain text nearly every path and id is. */
const quoted = (text: string): string => (PLAIN.test(text) ? `"${text}"` : JSON.stringify(text));

/** `{"time":…,"level":…,"worker":…,"msg":"request",…}`: the keys of the logger's own lines, then the request's. */
export function jsonLine(report: RequestReport, at: LineLevel, time: string, worker: number, details: boolean): string {
  const cache = report.pageCache === undefined ? '' : `,"cache":"${report.pageCache.status}"`;
  const bytes = report.bytes === undefined ? '' : `,"bytes":${report.bytes}`;
  const id = report.requestId === undefined ? '' : `,"id":${quoted(report.requestId)}`;
  let line = `{"time":"${time}","level":"${at}","worker":${worker},"msg":"request","method":${quoted(report.method)},"path":${quoted(cut(report.path))},"status":${report.status}${cache}${bytes},"ms":${round(report.durationMs)}${id}`;
  if (details) {
    const reason = report.pageCache !== undefined && 'reason' in report.pageCache ? `,"reason":${JSON.stringify(report.pageCache.reason)}` : '';
    line += `,"route":${JSON.stringify(report.route)}${reason},"early":${report.early}`;
  }
  return `${line}}\n`;
}

/** `2026-…Z info GET /posts/3 200 HIT 7123B 0.42ms id=… worker=1`; a path with spaces or control characters is quoted. */
export function textLine(report: RequestReport, at: LineLevel, time: string, worker: number, details: boolean): string {
  const path = /^[\x21-\x7e]*$/.test(report.path) ? cut(report.path) : JSON.stringify(cut(report.path));
  const bytes = report.bytes === undefined ? '-' : `${report.bytes}B`;
  let line = `${time} ${at} ${report.method} ${path} ${report.status} ${report.pageCache?.status ?? '-'} ${bytes} ${round(report.durationMs)}ms id=${report.requestId ?? '-'} worker=${worker}`;
  if (details) {
    const reason = report.pageCache !== undefined && 'reason' in report.pageCache ? ` (${String(report.pageCache.reason)})` : '';
    line += ` route=${report.route}${reason}${report.early ? ' early' : ''}`;
  }
  return `${line}\n`;
}
