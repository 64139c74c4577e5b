/**
 * What the toolbar hides before it keeps or shows anything: secret settings, credentials inside
 * URLs, cookies and authorisation headers, and — as a last net under every toolbar response — the
 * exact secret values the application names.
 */

/** What a masked value is shown as. */
export const MASK = '••••••';

/** Setting names whose values are secret, whatever their spelling (`sessionSecret`, `METRICS_TOKEN`, `authorPassword`, `apiKey`). */
const SECRET_NAME = /secret|passw|pwd|token|credential|api[-_]?key|private[-_]?key|^keys?$|auth(?:orization)?$/i;

/** Request and response headers whose values are secret (session cookies, bearer tokens, the bar's own token). */
const SECRET_HEADERS = new Set(['cookie', 'set-cookie', 'authorization', 'proxy-authorization', 'x-kiln-toolbar-token', 'x-csrf-token']);

/** Whether a setting of this name holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A URL with its password (and a user name that may be a token) replaced by {@link MASK}, e.g.
 * `redis://user:pass@host:6379` → `redis://••••••:••••••@host:6379`; other text unchanged.
 */
export function maskUrlCredentials(text: string): string {
  // scheme://user[:password]@ — matched as text, so `postgres://` and other schemes URL does not know are covered too.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@]*)@/gi, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${scheme}${MASK}@` : `${scheme}${MASK}:${MASK}@`;
  });
}

/**
 * A copy of a settings object safe to show: every value under a secret-looking name masked (set
 * or not is still visible: `undefined` stays `undefined`), credentials in URL strings masked,
 * functions and class instances other than arrays, Dates and plain objects shown by type only.
 */
export function maskSettings(value: unknown, name = ''): unknown {
  if (value === undefined || value === null) return value;
  if (name !== '' && isSecretName(name)) return MASK;
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map((item) => maskSettings(item));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `[${value.constructor.name}]`;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = maskSettings(item, key);
    return out;
  }
  return `[${typeof value}]`;
}

/** One header as the toolbar keeps it. */
export type HeaderPair = readonly [name: string, value: string];

/**
 * Headers as name/value pairs (repeats kept, names in lower case), secret values masked: a cookie
 * shows its names only (`kiln.sess=••••••`), an authorisation header its scheme only.
 */
export function maskHeaders(headers: Readonly<Record<string, string | string[] | number | undefined>>): HeaderPair[] {
  const pairs: HeaderPair[] = [];
  for (const [rawName, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const name = rawName.toLowerCase();
    for (const value of Array.isArray(raw) ? raw : [String(raw)]) pairs.push([name, maskHeader(name, value)]);
  }
  return pairs;
}

function maskHeader(name: string, value: string): string {
  if (!SECRET_HEADERS.has(name)) return maskUrlCredentials(value);
  if (name === 'cookie') return value.split(';').map((part) => `${part.split('=')[0].trim()}=${MASK}`).join('; ');
  if (name === 'set-cookie') {
    const [pair, ...attributes] = value.split(';');
    return [`${pair.split('=')[0].trim()}=${MASK}`, ...attributes.map((a) => a.trim())].join('; ');
  }
  if (name === 'authorization' || name === 'proxy-authorization') return `${value.split(' ')[0]} ${MASK}`;
  return MASK;
}

/**
 * Replaces each of `secrets` (the exact values the application named; those under 6 characters
 * are ignored, as they would mask ordinary words) wherever it appears in `text`.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 6) continue;
    const html = secret.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), html])) {
      if (out.includes(form)) out = out.split(form).join(MASK);
    }
  }
  return out;
}
