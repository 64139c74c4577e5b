import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The tag every object in the shared cache carries (kiln.vcl adds it): purging it empties the cache. */
export const PURGE_ALL_TAG = 'all';

// A tag xkey would split (whitespace, commas) or a header could not carry: such a purge purges everything.
const UNSENDABLE_TAG = /[\s,\x00-\x1f\x7f]/;
const MAX_HEADER_CHARS = 4000;

/** How one purge request ended: accepted (2xx), or why not. */
export type PurgeOutcome = { ok: true; status: number; purged: number | undefined } | { ok: false; error: string };

/** One purge request: where, how, and how long it may take. */
export interface PurgeRequest {
  url: URL;
  method: string;
  headers: OutgoingHttpHeaders;
  /** Longest the request may take, from sending to the response's headers, in milliseconds. */
  timeoutMs: number;
}

/**
 * Sends one purge request on a connection of its own (purges are rare, and a pooled connection
 * to a cache that restarted would fail the first purge after it) and resolves how it ended;
 * never rejects. A 2xx is accepted; Varnish's count of purged objects is read from `xkey-purged`
 * when present.
 */
export function sendPurgeRequest(purge: PurgeRequest): Promise<PurgeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: PurgeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const send = purge.url.protocol === 'https:' ? httpsRequest : httpRequest;
    let request: ReturnType<typeof httpRequest>;
    try {
      request = send(purge.url, { method: purge.method, headers: purge.headers, agent: false });
    } catch (error) {
      resolve({ ok: false, error: messageOf(error) });
      return;
    }
    const timer = setTimeout(() => {
      settle({ ok: false, error: `no answer within ${purge.timeoutMs} ms` });
      request.destroy();
    }, purge.timeoutMs);
    request.once('error', (error) => settle({ ok: false, error: messageOf(error) }));
    request.once('response', (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        settle({ ok: false, error: `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}` });
        return;
      }
      const count = Number(response.headers['xkey-purged']);
      settle({ ok: true, status, purged: Number.isSafeInteger(count) && count >= 0 ? count : undefined });
    });
    request.end();
  });
}

/** The tags as one purge can carry them: deduplicated, or `all` instead when one cannot be sent as it is (over-purging is safe, under-purging is not). */
export function sendableTags(tags: readonly string[]): string[] {
  const list = [...new Set(tags)];
  if (list.some((tag) => typeof tag !== 'string' || tag === '' || UNSENDABLE_TAG.test(tag))) return [PURGE_ALL_TAG];
  if (list.join(' ').length > MAX_HEADER_CHARS) return [PURGE_ALL_TAG];
  return list;
}

/** A purge URL checked once: absolute, http or https; throws a TypeError otherwise. */
export function purgeUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('HttpPurger: a purge URL is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`HttpPurger: a purge URL must be http:// or https://, not ${url.protocol}`);
  return url;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
