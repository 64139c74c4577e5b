import type { RequestCollector } from './collector.ts';

/** The levels a watched logger reports. */
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A logger with any of the usual level methods, each taking one message. */
export type WatchableLogger = Partial<Record<(typeof LEVELS)[number], (msg: string) => void>>;

/**
 * A logger that writes every line to `logger` as before and also notes it on the request running
 * in the current async context (the Logging tab); lines written outside a request go to `logger`
 * only. The collector's scope rides on AsyncLocalStorage, so code deep in a request needs nothing
 * passed in.
 *
 * @example
 * const logger = watchLogger(consoleLogger(), collector);
 */
export function watchLogger<L extends WatchableLogger>(logger: L, collector: RequestCollector): L {
  // Everything else the logger has (fields, getters) stays reachable through the prototype.
  const watched: L = Object.create(logger);
  for (const level of LEVELS) {
    const write = logger[level];
    if (typeof write !== 'function') continue;
    Object.defineProperty(watched, level, {
      value: (msg: string) => {
        collector.recordLog(level, String(msg));
        write.call(logger, msg);
      },
    });
  }
  return watched;
}
