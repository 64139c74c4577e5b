import type { CacheLogger } from './cache/index.ts';

/** Where Kiln's messages go: the cache's warnings and information, errors, and details for debugging. */
export interface Logger extends CacheLogger {
  error(msg: string): void;
  /** Details worth a line only while debugging (`LOG_LEVEL=debug`). */
  debug?(msg: string): void;
}

/** `LOG_LEVEL`: the least severe line written; `silent` writes none. */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

/** Every level, from writing nothing to writing everything. */
export const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];

/** A line's own level (never `silent`). */
export type LineLevel = Exclude<LogLevel, 'silent'>;

/** Whether a line at `line` is written under `level`. */
export function logs(level: LogLevel, line: LineLevel): boolean {
  return LOG_LEVELS.indexOf(line) <= LOG_LEVELS.indexOf(level);
}

/** How lines look: one JSON object each (production), or a readable line (development and test). */
export type LogFormat = 'json' | 'text';

/** Where whole lines are written (a stream, or a test's array). */
export interface LineWriter {
  write(text: string): void;
}

/** Where a {@link LineSink} writes its gathered bytes (a stream, or a test's array). */
export interface ChunkWriter {
  write(chunk: Uint8Array): void;
  /** A stream's bytes still queued (Node's `writableLength`); 0 right after a write means it copied the chunk out. */
  readonly writableLength?: number;
}

/** Bytes kept before they are written at once (about 150 access lines). */
const FLUSH_BYTES = 32 * 1024;
/** Longest a line waits to be written, in ms. */
const FLUSH_MS = 50;
/** Room a line may need as UTF-8 (3 bytes per UTF-16 unit at most). */
const utf8Room = (text: string): number => text.length * 3;

/**
 * Lines gathered and written together: at 32 KB, or 50 ms after the first pending line. Under
 * load a write then carries a hundred requests' lines instead of one system call each (standard
 * output to a pipe or file is a blocking write in Node), which keeps logging off the cost of a
 * cached hit. Each line is encoded into one buffer as it comes, so a line's string dies young
 * instead of waiting, with a hundred others, to be joined. What is pending is written when the
 * process exits normally (`stdoutLines`); a SIGKILL loses at most the last 50 ms of lines.
 */
export class LineSink implements LineWriter {
  private buffer = Buffer.allocUnsafe(FLUSH_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: ChunkWriter) {}

  /** Adds one line (`text` ends with a newline). */
  write(text: string): void {
    if (this.used + utf8Room(text) > this.buffer.length) {
      this.flush();
      // A line longer than the buffer goes out by itself.
      if (utf8Room(text) > this.buffer.length) {
        this.out.write(Buffer.from(text));
        return;
      }
    }
    this.used += this.buffer.write(text, this.used);
    if (this.timer === undefined) {
      this.timer = setTimeout(this.flushLater, FLUSH_MS);
      // Pending lines never keep a process alive: a normal exit writes them.
      this.timer.unref();
    }
  }

  /** Writes what is pending now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return;
    const chunk = this.buffer.subarray(0, this.used);
    this.used = 0;
    this.out.write(chunk);
    // Standard output to a file, pipe or terminal writes at once on Linux: with nothing queued the
    // bytes are out, and the buffer (still in the CPU's caches) takes the next lines. A writer that
    // keeps the chunk (a stream still writing it, a test's array) leaves it alone.
    if (this.out.writableLength !== 0) this.buffer = Buffer.allocUnsafe(FLUSH_BYTES);
  }

  private readonly flushLater = (): void => {
    this.timer = undefined;
    this.flush();
  };
}

let stdoutSink: LineSink | undefined;

/** The process's one buffered standard output, flushed on exit. */
export function stdoutLines(): LineSink {
  if (stdoutSink === undefined) {
    const sink = new LineSink(process.stdout);
    process.on('exit', () => sink.flush());
    stdoutSink = sink;
  }
  return stdoutSink;
}

/** Options of {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Default `text`. */
  format?: LogFormat;
  /** The worker number put on JSON lines (0: the only process, or the cluster primary). */
  worker?: number;
  /** Information and debugging lines (default: standard output, written at once; the server passes {@link stdoutLines}). */
  out?: LineWriter;
  /** Warnings and errors, written at once (default: standard error). */
  err?: LineWriter;
  now?: () => number;
}

/**
 * A logger writing one line per message: `2026-01-01T00:00:00.000Z info message` as text, or
 * `{"time":"…","level":"info","worker":1,"msg":"message"}` as JSON. Information goes to standard
 * output, warnings and errors to standard error.
 *
 * @example
 * const log = consoleLogger({ level: config.logLevel, format: config.logFormat });
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const { level = 'info', format = 'text', worker = 0, now = Date.now } = options;
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const line = (at: LineLevel, msg: string): string => {
    const time = new Date(now()).toISOString();
    if (format === 'json') return `{"time":"${time}","level":"${at}","worker":${worker},"msg":${JSON.stringify(msg)}}\n`;
    return `${time} ${at} ${msg}\n`;
  };
  const to = (writer: LineWriter, at: LineLevel) => (logs(level, at) ? (msg: string) => writer.write(line(at, msg)) : () => {});
  // Standard output is buffered: a warning written at once would otherwise come before the information it follows.
  const urgent = (at: LineLevel) => {
    const write = to(err, at);
    return (msg: string) => {
      if (out instanceof LineSink) out.flush();
      write(msg);
    };
  };
  return { debug: to(out, 'debug'), info: to(out, 'info'), warn: urgent('warn'), error: urgent('error') };
}
