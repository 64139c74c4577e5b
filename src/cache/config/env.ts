import { isIP } from 'node:net';

/** Environment variables as a plain record, so tests pass their own. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A host and port named in a variable (`host:port`, IPv6 hosts in brackets). */
export interface HostPort {
  host: string;
  port: number;
}

/** A configuration value that is missing or malformed; the message starts with the variable's name. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses a size: plain bytes or a binary multiple (`64MB`, `64M`, `64MiB`, `512kb`, `1g`), naming `name` when malformed. */
export function parseSize(name: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(raw.trim());
  if (!match) throw new ConfigError(name, `expected bytes or a size such as 64MB, got "${raw}"`);
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2].toLowerCase()]);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new ConfigError(name, `expected a positive size, got "${raw}"`);
  return bytes;
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/**
 * Reads typed values from environment variables, one parser per kind, each throwing a
 * {@link ConfigError} that names the variable. A variable that is unset or blank takes the
 * fallback (except through {@link EnvReader.raw}).
 *
 * @example
 * const read = new EnvReader({ PORT: '8080' });
 * const port = read.integer('PORT', { fallback: 3000, min: 0, max: 65535 });
 */
export class EnvReader {
  constructor(private readonly env: Env) {}

  /** The value exactly as set, blank or not: for the few variables where spaces mean something. */
  raw(name: string): string | undefined {
    return this.env[name];
  }

  /** The trimmed value; undefined when unset or blank. */
  present(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** The trimmed value, or `fallback`. */
  string(name: string, fallback: string): string {
    return this.present(name) ?? fallback;
  }

  /** A whole number within `min..max` (defaults 0 and the largest safe integer). */
  integer(name: string, options: { fallback: number; min?: number; max?: number }): number {
    const raw = this.present(name);
    if (raw === undefined) return options.fallback;
    const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  }

  /** 1/0, true/false, yes/no or on/off, in any letter case. */
  flag(name: string, fallback: boolean): boolean {
    const raw = this.present(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (TRUE.includes(raw)) return true;
    if (FALSE.includes(raw)) return false;
    throw new ConfigError(name, `expected 1 or 0, got "${raw}"`);
  }

  /** One of `choices`, in any letter case (returned as listed); `fallback` when unset. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.present(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    const found = choices.find((choice) => choice.toLowerCase() === raw);
    if (found === undefined) throw new ConfigError(name, `expected one of ${choices.join(', ')}, got "${raw}"`);
    return found;
  }

  /** A number from 0 to 1. */
  fraction(name: string, fallback: number): number {
    const raw = this.present(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d*\.?\d+$/.test(raw) || value > 1) throw new ConfigError(name, `expected a fraction from 0 to 1, got "${raw}"`);
    return value;
  }

  /** A size in bytes (see {@link parseSize}); with `zero`, a plain 0 is accepted too (meaning "none"). */
  size(name: string, fallback: number, options: { zero?: boolean } = {}): number {
    const raw = this.present(name);
    if (raw === undefined) return fallback;
    if (options.zero && /^0+$/.test(raw)) return 0;
    return parseSize(name, raw);
  }

  /**
   * A `redis://` or `rediss://` URL with a host and an optional numeric database, returned as
   * written; undefined when unset. The value is never echoed: it may carry the password.
   */
  redisUrl(name: string): string | undefined {
    const raw = this.present(name);
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, 'is not a valid URL (expected redis://[:password@]host[:port][/db])');
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new ConfigError(name, `must start with redis:// or rediss://, not ${url.protocol}//`);
    }
    if (!url.hostname) throw new ConfigError(name, 'has no host');
    if (!/^\/?(\d+)?$/.test(url.pathname)) throw new ConfigError(name, 'database must be a number, as /0');
    return raw;
  }

  /** `host:port,host:port…` (IPv6 hosts in brackets); undefined when unset. */
  addresses(name: string): HostPort[] | undefined {
    const raw = this.present(name);
    if (raw === undefined) return undefined;
    return raw.split(',').map((item) => {
      const match = /^\s*\[?([^\s[\]]+?)\]?:(\d{1,5})\s*$/.exec(item);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) throw new ConfigError(name, `expected host:port[,host:port…], got "${item.trim()}"`);
      return { host: match[1], port };
    });
  }

  /** IP addresses separated by commas or spaces, each checked; `fallback` when unset. */
  ipList(name: string, fallback: readonly string[]): readonly string[] {
    const raw = this.present(name);
    if (raw === undefined) return fallback;
    const ips = raw.split(/[\s,]+/).filter(Boolean);
    for (const ip of ips) if (isIP(ip) === 0) throw new ConfigError(name, `"${ip}" is not an IP address`);
    return ips;
  }
}
