import { readFileSync } from 'node:fs';
import { cookiesOf, sendOnce as send, type Reply } from '../test/support/http-once.ts';
import { startVarnish } from '../test/support/varnish.ts';
import type { ServerProcess } from './servers.ts';
import { median } from './stats.ts';

/**
 * Kiln behind Varnish in the benchmark: deploy/varnish/run.sh in front of the memory-cache Kiln
 * (which purges it through HTTP_CACHE_PURGE_URLS), measured on `/` beside Kiln's own HIT, and
 * the time from the author's 303 to the first read through Varnish that shows the save.
 */

/** The author account the Kiln behind Varnish is started with (bench/kiln-server.ts creates it). */
export const BENCH_AUTHOR = { username: 'bench-author', password: 'bench-author-password' } as const;

/** The environment that lets a Kiln purge the Varnish that will listen on `varnishPort`, and sign its author in. */
export function purgedKilnEnv(varnishPort: number): Record<string, string> {
  return {
    HTTP_CACHE_PURGE_URLS: `http://127.0.0.1:${varnishPort}/`,
    AUTHOR_USERNAME: BENCH_AUTHOR.username,
    AUTHOR_PASSWORD: BENCH_AUTHOR.password,
  };
}

/**
 * Starts Varnish on `port` in front of `kiln`, as a bench server: its pid is the cache process
 * varnishd forks (where requests are served, so CPU and RSS are measured there).
 */
export async function startVarnishFor(kiln: ServerProcess, port: number): Promise<ServerProcess> {
  const varnish = await startVarnish({ backendPort: Number(new URL(kiln.url).port), port });
  const manager = varnish.pid;
  const worker = manager === undefined ? undefined : cacheProcessOf(manager);
  if (worker === undefined) {
    await varnish.stop();
    throw new Error('varnishd has no cache process');
  }
  return { name: 'varnish', url: varnish.url, pid: worker, stop: () => varnish.stop() };
}

/** The first child of `pid` (varnishd's cache process), from /proc. */
function cacheProcessOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length > 0 ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** The author's save becoming visible through Varnish, over several edits. */
export interface VarnishFreshness {
  edits: number;
  /** Milliseconds from the end of the author's 303 to the end of the first read showing the save. */
  medianMs: number;
  maxMs: number;
  /** Edits whose very first read through Varnish already showed the save. */
  freshOnFirstRead: number;
}

const field = (html: string, name: string) => new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(html)?.[1] ?? '';
const isHit = (reply: Reply) => String(reply.headers['x-varnish']).split(' ').length === 2;

/**
 * Signs the author in through Varnish, then `edits` times: makes sure `path` (a post page) is a
 * Varnish hit, saves a new title through Varnish, and reads `path` through Varnish until it
 * shows it (at most 5 s), timing from the 303 to that read.
 */
export async function freshnessAfterSave(varnishUrl: string, path: string, edits: number): Promise<VarnishFreshness> {
  const id = /^\/posts\/(\d+)$/.exec(path)?.[1];
  if (id === undefined) throw new Error(`freshnessAfterSave: ${path} is not a post page`);
  const form = await send(varnishUrl, '/login');
  const signedIn = await send(varnishUrl, '/login', { cookie: cookiesOf(form), form: { _csrf: field(form.text, '_csrf'), ...BENCH_AUTHOR } });
  const cookie = cookiesOf(signedIn)
    .split('; ')
    .find((pair) => pair.startsWith('kiln.sid='));
  if (signedIn.status !== 303 || cookie === undefined) throw new Error(`the bench author could not sign in through Varnish (${signedIn.status})`);
  const times: number[] = [];
  let freshOnFirstRead = 0;
  for (let edit = 1; edit <= edits; edit++) {
    for (let i = 0; i < 3 && !isHit(await send(varnishUrl, path)); i++);
    const editor = await send(varnishUrl, `/admin/posts/${id}/edit`, { cookie });
    const title = `Bench edit ${edit} at ${Date.now()}`;
    const body = /<textarea[^>]*name="body"[^>]*>\n?([\s\S]*?)<\/textarea>/.exec(editor.text)?.[1] ?? 'Body';
    const saved = await send(varnishUrl, `/admin/posts/${id}`, {
      cookie,
      form: { _csrf: field(editor.text, '_csrf'), version: field(editor.text, 'version'), title, body: unescapeHtml(body), category: unescapeHtml(field(editor.text, 'category')) || 'bench', published: 'on' },
    });
    if (saved.status !== 303) throw new Error(`the bench edit answered ${saved.status}`);
    const savedAt = performance.now();
    for (let read = 1; ; read++) {
      const reply = await send(varnishUrl, path);
      if (reply.text.includes(title)) {
        times.push(performance.now() - savedAt);
        if (read === 1) freshOnFirstRead += 1;
        break;
      }
      if (performance.now() - savedAt > 5000) throw new Error(`${path} still stale through Varnish 5 s after the save`);
    }
  }
  return { edits, medianMs: median(times), maxMs: Math.max(...times), freshOnFirstRead };
}

function unescapeHtml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}
