import type { Logger } from './blog/seed.ts';

/** A logger writing one timestamped line per message to stdout/stderr. */
export function consoleLogger(): Logger {
  const line = (level: string, msg: string) => `${new Date().toISOString()} ${level} ${msg}\n`;
  return {
    info: (msg) => void process.stdout.write(line('info', msg)),
    warn: (msg) => void process.stderr.write(line('warn', msg)),
    error: (msg) => void process.stderr.write(line('error', msg)),
  };
}
