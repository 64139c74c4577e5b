import type { CacheLogger } from './cache/index.ts';

/** Where Kiln's messages go: the cache's warnings and information, and errors. */
export interface Logger extends CacheLogger {
  error(msg: string): void;
}

/** A logger writing one timestamped line per message to stdout/stderr. */
export function consoleLogger(): Logger {
  const line = (level: string, msg: string) => `${new Date().toISOString()} ${level} ${msg}\n`;
  return {
    info: (msg) => void process.stdout.write(line('info', msg)),
    warn: (msg) => void process.stderr.write(line('warn', msg)),
    error: (msg) => void process.stderr.write(line('error', msg)),
  };
}
