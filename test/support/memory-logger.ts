import type { Logger } from '../../src/blog/seed.ts';
import type { CacheLogger } from '../../src/cache/telemetry.ts';

/** One line a {@link MemoryLogger} was told. */
export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

/**
 * A logger that keeps what it is told, for assertions; it serves both the cache library
 * (`CacheLogger`) and the app (`Logger`). The methods are bound, so they can be passed on alone.
 */
export class MemoryLogger implements CacheLogger, Logger {
  /** Every line, in order. */
  readonly lines: LoggedLine[] = [];

  readonly info = (msg: string): void => void this.lines.push({ level: 'info', msg });
  readonly warn = (msg: string): void => void this.lines.push({ level: 'warn', msg });
  readonly error = (msg: string): void => void this.lines.push({ level: 'error', msg });

  /** The warnings, in order. */
  get warns(): string[] {
    return this.messages('warn');
  }

  /** The informational lines, in order. */
  get infos(): string[] {
    return this.messages('info');
  }

  /** The errors, in order. */
  get errors(): string[] {
    return this.messages('error');
  }

  private messages(level: LoggedLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.msg);
  }
}
