import type Koa from 'koa';
import type { Context, Next } from 'koa';
import './compression.ts';
import { keepNextTickShape } from './next-tick-shape.ts';
import type { ResponseCompression } from './response-compression.ts';
import type { PageCacheOutcome } from './page-cache/decide.ts';
import './page-cache/state.ts';
import { matchedRoute, setMatchedRoute } from './route-name.ts';

declare module 'koa' {
  interface DefaultState {
    /** This request's id, also sent as `X-Request-Id`; set by the request frame when it has a `requestId` option. */
    requestId?: string;
  }
}

/** The response header that carries the request id. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * The outermost layer of an app: the one place that says which headers every response carries,
 * reports every response, and lets the page cache answer before the rest of the app runs. It
 * takes each request from Koa's `app.callback()` before Koa's own handling, and is also the
 * first middleware of the chain:
 *
 *   admit(ctx) says no ─► 404 (through Koa) ─────────────────────────────┐ frame headers, then
 *   earlyAnswers.find(ctx) ─► writeHead(prepared list + frame headers) ──┤ personalize; then
 *   Koa's handling: the app's middleware and routes ─────────────────────┘ every reporter
 *
 * An early answer is written on the context Koa made, without Koa's response listeners or its
 * middleware promise chain: about a tenth of a cached hit's CPU (5–6 µs in A/B runs). A request
 * the inspector wants (the dev toolbar) takes the same early answer inside Koa, written as a Koa
 * response so the inspector can rewrite it: in identity, so the page can be rewritten, and then
 * compressed on the fly like any response nothing compressed before. The chain's responses go
 * through `compression` too, after the inspector and before the frame headers. Nothing may be
 * mounted before the frame: a header every response needs is a frame header or a `personalize`
 * rule, and so reaches early answers by construction.
 */

/** What every finished response is reported as, early answers included (metrics, access log). */
export interface RequestReport {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  /** Route pattern (`/posts/:id`), never a raw path; `unmatched` when no route matched. */
  route: string;
  /** Body bytes sent, when known. */
  bytes: number | undefined;
  /** What the page cache did and why, on a cached route. */
  pageCache: PageCacheOutcome | undefined;
  /** Whether it was answered before the middleware chain ran. */
  early: boolean;
  /** The request id sent as `X-Request-Id`, when the frame gives ids. */
  requestId: string | undefined;
}

/** Told about every finished response; must not throw (a throw is ignored). */
export interface RequestReporter {
  report(report: RequestReport): void;
}

/** Something that watches whole requests from inside the frame: the dev toolbar. */
export interface RequestInspector {
  /** Whether this request is inspected. */
  wants(ctx: Context): boolean;
  /** Runs `answer` (an early answer or the chain) in its scope, then may rewrite the Koa response. */
  inspect(ctx: Context, answer: () => Promise<void>): Promise<void>;
}

/** What the page cache offers the frame (implemented by `PreparedPages`). */
export interface EarlyAnswers {
  /** A stored page this request may get before the chain runs; a promise when the backend must be awaited. */
  find(ctx: Context): EarlyAnswer | undefined | Promise<EarlyAnswer | undefined>;
}

/** A response prepared once per page, written as it is. */
export interface EarlyAnswer {
  readonly status: 200 | 304;
  /** `writeHead` list of names and values: stored headers, X-Cache, ETag, Content-Length (200 only). */
  readonly headers: readonly string[];
  /** The body of a 200 (not sent for HEAD); undefined for a 304. */
  readonly body: Buffer | undefined;
  /** The route pattern the page was served under. */
  readonly route: string | undefined;
}

/** Options of {@link useRequestFrame}. */
export interface RequestFrameOptions {
  /** Headers every response carries, early answers and refusals included (e.g. the security headers). */
  headers: Readonly<Record<string, string>>;
  /**
   * Rewrites the request once, before anything reads it (e.g. drops forwarding headers that no
   * trusted proxy added), so every later step, early answers included, sees the same request.
   */
  normalize?: (ctx: Context) => void;
  /**
   * Whether a request is handled at all (e.g. its path is in canonical form); the others get a
   * plain 404 before anything else reads them. Default: every request.
   */
  admit?: (ctx: Context) => boolean;
  /** Rules run on every response before it is sent (e.g. `private, no-store` for a signed-in user); what they set wins. */
  personalize?: (ctx: Context) => void;
  reporters?: readonly RequestReporter[];
  /**
   * The id of a request (e.g. a trusted proxy's `X-Request-Id`, or a new one), run once after
   * `normalize`; it is kept in `ctx.state.requestId`, sent as `X-Request-Id` on every response,
   * early answers and refusals included, and reported.
   */
  requestId?: (ctx: Context) => string;
  earlyAnswers?: EarlyAnswers;
  inspector?: RequestInspector;
  /** Compresses the responses of the chain and of the inspector that are not compressed yet (`responseCompression()`). */
  compression?: ResponseCompression;
}

/** The options checked, with what is prepared once. */
interface Frame {
  readonly headers: Readonly<Record<string, string>>;
  /** The frame headers as a `writeHead` list. */
  readonly pairs: readonly string[];
  /** Lower-case frame header names: a prepared header of the same name gives way, as `ctx.set` would replace it. */
  readonly names: ReadonlySet<string>;
  /** Each prepared list with the frame headers added, made once per list. */
  readonly lists: WeakMap<readonly string[], string[]>;
  readonly normalize: ((ctx: Context) => void) | undefined;
  readonly admit: ((ctx: Context) => boolean) | undefined;
  readonly personalize: ((ctx: Context) => void) | undefined;
  readonly reporters: readonly RequestReporter[];
  readonly requestId: ((ctx: Context) => string) | undefined;
  readonly earlyAnswers: EarlyAnswers | undefined;
  readonly inspector: RequestInspector | undefined;
  readonly compression: ResponseCompression | undefined;
}

const EARLY_FRESH: PageCacheOutcome = Object.freeze({ status: 'HIT', reason: 'early-fresh' });

/** The app's middleware composed, as Koa runs it. */
type KoaChain = (ctx: Context) => Promise<void>;

/** Koa's handling of one request (`Application#handleRequest`, which `app.callback()` calls with the context it made). */
type KoaHandling = (ctx: Context, middleware: KoaChain) => Promise<void>;

/** How a request that reaches the frame's middleware goes on: decided by the frame on arrival. */
type Arrival =
  | { readonly way: 'refuse' | 'chain'; readonly started: number }
  | { readonly way: 'inspect'; readonly started: number; readonly inspector: RequestInspector }
  /** An early answer a personal rule put a header on: Koa writes it, so the rule's header wins. */
  | { readonly way: 'early'; readonly started: number; readonly found: EarlyAnswer }
  | { readonly way: 'fail'; readonly started: number; readonly error: unknown };

/**
 * Mounts the request frame on `app`, before any other middleware: its middleware is
 * `app.middleware[0]`, and it takes each request before Koa's own handling (Koa's
 * `handleRequest`, which sets up response listeners and runs the middleware chain), so an early
 * answer is written on the context Koa made, without the rest of Koa's per-request work. Every
 * other request goes on into Koa, to the frame's middleware first. Mounted inside another app
 * (koa-mount runs `app.middleware` alone), the frame still does everything but early answers.
 *
 * @example
 * useRequestFrame(app, { headers: SECURITY_HEADERS, reporters: [metrics.requestReporter()], earlyAnswers: pages.prepared });
 */
export function useRequestFrame(app: Koa, options: RequestFrameOptions): void {
  const frame = frameOf(options);
  if (app.middleware.length > 0) throw new TypeError('useRequestFrame: mount the frame before any other middleware');
  const handling: unknown = Reflect.get(app, 'handleRequest');
  if (typeof handling !== 'function') throw new TypeError('useRequestFrame: this Koa has no handleRequest() to take requests before');
  const koaHandling = handling as KoaHandling;
  // Node's streams schedule several ticks for every request: keep them on V8's fast path.
  keepNextTickShape();
  const arrivals = new WeakMap<Context, Arrival>();
  const intoKoa = (ctx: Context, middleware: KoaChain, arrival: Arrival): Promise<void> => {
    arrivals.set(ctx, arrival);
    return koaHandling.call(app, ctx, middleware);
  };
  const answer = (ctx: Context, middleware: KoaChain, arrival: Arrival, found: EarlyAnswer | undefined): Promise<void> | void => {
    const way = found === undefined ? arrival : writeEarly(frame, ctx, found, arrival.started);
    if (way !== undefined) return intoKoa(ctx, middleware, way);
  };
  Object.defineProperty(app, 'handleRequest', {
    configurable: true,
    writable: true,
    value: function framedHandling(ctx: Context, middleware: KoaChain): Promise<void> | void {
      const arrival = arrive(frame, ctx);
      if (arrival.way !== 'chain' || frame.earlyAnswers === undefined) return intoKoa(ctx, middleware, arrival);
      const found = findEarly(frame, ctx);
      if (found instanceof Promise) return found.then((early) => answer(ctx, middleware, arrival, early));
      return answer(ctx, middleware, arrival, found);
    },
  });
  app.use(function requestFrame(ctx: Context, next: Next): Promise<void> | void {
    const arrival = arrivals.get(ctx) ?? arrive(frame, ctx);
    const { started } = arrival;
    switch (arrival.way) {
      case 'refuse':
        return refuse(frame, ctx, started);
      case 'inspect':
        return inspected(frame, arrival.inspector, ctx, next, started);
      case 'early':
        asKoaResponse(ctx, arrival.found);
        finishKoaResponse(frame, ctx);
        return report(frame, ctx, started, arrival.found.status, arrival.found, true);
      case 'fail':
        throw arrival.error;
      case 'chain':
        return throughChain(frame, ctx, next, started);
    }
  });
}

/** The request normalised once and given its id, then where it goes: refused, inspected, or on (to an early answer, when there is one). */
function arrive(frame: Frame, ctx: Context): Arrival {
  const started = performance.now();
  try {
    frame.normalize?.(ctx);
    if (frame.requestId !== undefined) ctx.state.requestId = frame.requestId(ctx);
    if (frame.admit !== undefined && !frame.admit(ctx)) return { way: 'refuse', started };
    if (frame.inspector !== undefined && frame.inspector.wants(ctx)) return { way: 'inspect', started, inspector: frame.inspector };
    return { way: 'chain', started };
  } catch (error) {
    return { way: 'fail', started, error };
  }
}

function frameOf(options: RequestFrameOptions): Frame {
  if (options === null || typeof options !== 'object' || options.headers === null || typeof options.headers !== 'object') {
    throw new TypeError('useRequestFrame: `headers` must be an object of header names and values');
  }
  for (const name of ['normalize', 'admit', 'personalize', 'requestId'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new TypeError(`useRequestFrame: \`${name}\` must be a function`);
  }
  const reporters = options.reporters ?? [];
  if (!Array.isArray(reporters) || !reporters.every((r) => typeof r?.report === 'function')) {
    throw new TypeError('useRequestFrame: `reporters` must be an array of objects with a report() method');
  }
  if (options.earlyAnswers !== undefined && typeof options.earlyAnswers?.find !== 'function') {
    throw new TypeError('useRequestFrame: `earlyAnswers` must have a find() method');
  }
  if (options.inspector !== undefined && (typeof options.inspector?.wants !== 'function' || typeof options.inspector.inspect !== 'function')) {
    throw new TypeError('useRequestFrame: `inspector` must have wants() and inspect() methods');
  }
  if (options.compression !== undefined && typeof options.compression?.encode !== 'function') {
    throw new TypeError('useRequestFrame: `compression` must have an encode() method');
  }
  const pairs = Object.entries(options.headers).flat();
  const names = new Set(Object.keys(options.headers).map((name) => name.toLowerCase()));
  const { normalize, admit, personalize, requestId, earlyAnswers, inspector, compression } = options;
  return { headers: options.headers, pairs, names, lists: new WeakMap(), normalize, admit, personalize, reporters, requestId, earlyAnswers, inspector, compression };
}

/** The early answer for this request, if any; a failing page cache is no answer. */
function findEarly(frame: Frame, ctx: Context): EarlyAnswer | undefined | Promise<EarlyAnswer | undefined> {
  if (frame.earlyAnswers === undefined) return undefined;
  try {
    const found = frame.earlyAnswers.find(ctx);
    return found instanceof Promise ? found.catch(() => undefined) : found;
  } catch {
    return undefined;
  }
}

/** A request `admit` refused: a plain 404 that nothing else reads. */
function refuse(frame: Frame, ctx: Context, started: number): void {
  ctx.status = 404;
  ctx.type = 'text/plain';
  ctx.body = 'Not Found';
  finishKoaResponse(frame, ctx);
  report(frame, ctx, started, 404, undefined, false);
}

/** The rest of the app answers; the frame headers and rules go on its response. */
async function throughChain(frame: Frame, ctx: Context, next: Next, started: number): Promise<void> {
  let status = 500;
  try {
    await next();
    await frame.compression?.encode(ctx);
    status = ctx.status;
  } finally {
    finishKoaResponse(frame, ctx);
    report(frame, ctx, started, status, undefined, false);
  }
}

/** An inspected request: the early answer or the chain inside the inspector, written by Koa. */
async function inspected(frame: Frame, inspector: RequestInspector, ctx: Context, next: Next, started: number): Promise<void> {
  let status = 500;
  let early: EarlyAnswer | undefined;
  // The inspector may rewrite the body, so the answer is made in identity and compressed after it.
  ctx.state.deferCompression = true;
  try {
    await inspector.inspect(ctx, async () => {
      early = await findEarly(frame, ctx);
      if (early === undefined) return next();
      ctx.state.pageCache = EARLY_FRESH;
      if (early.route !== undefined) setMatchedRoute(ctx, early.route);
      asKoaResponse(ctx, early);
    });
    await frame.compression?.encode(ctx);
    status = ctx.status;
  } finally {
    finishKoaResponse(frame, ctx);
    report(frame, ctx, started, status, early, early !== undefined);
  }
}

/**
 * Writes an early answer with Node's own header list (no Koa response, no `setHeader`), or says
 * how Koa must go on instead: when a `personalize` rule set a header, Koa writes the answer, so
 * the rule's header wins; and if the write fails before anything went out, the chain answers.
 */
function writeEarly(frame: Frame, ctx: Context, found: EarlyAnswer, started: number): Arrival | undefined {
  try {
    ctx.state.pageCache = EARLY_FRESH;
    // The personal rule judges the answer this request will get. Set on Node's response, not
    // through Koa's setter, which would pin the status for the chain if the chain answers after all.
    ctx.res.statusCode = found.status;
    frame.personalize?.(ctx);
    if (ctx.res.getHeaderNames().length > 0) return { way: 'early', started, found };
    const list = withFrameHeaders(frame, found.headers);
    // The list ends with the request id's slot when the frame gives ids; Node reads the list
    // at once, so one list serves every request.
    if (frame.requestId !== undefined) list[list.length - 1] = ctx.state.requestId ?? '';
    ctx.res.writeHead(found.status, list);
    ctx.res.end(ctx.req.method === 'GET' ? found.body : undefined);
  } catch {
    if (!ctx.res.headersSent) {
      ctx.state.pageCache = undefined;
      return { way: 'chain', started };
    }
  }
  report(frame, ctx, started, found.status, found, true);
  return undefined;
}

/** A prepared list with the frame headers (and the request id's slot) after it, made once per list. */
function withFrameHeaders(frame: Frame, list: readonly string[]): string[] {
  let full = frame.lists.get(list);
  if (full === undefined) {
    full = [];
    for (let i = 0; i < list.length; i += 2) if (!frame.names.has(list[i].toLowerCase())) full.push(list[i], list[i + 1]);
    full.push(...frame.pairs);
    if (frame.requestId !== undefined) full.push(REQUEST_ID_HEADER, '');
    frame.lists.set(list, full);
  }
  return full;
}

/** Puts an early answer on the Koa response, for an inspector or a personal rule to see. */
function asKoaResponse(ctx: Context, found: EarlyAnswer): void {
  ctx.status = found.status;
  const list = found.headers;
  for (let i = 0; i < list.length; i += 2) if (list[i].toLowerCase() !== 'content-length') ctx.append(list[i], list[i + 1]);
  ctx.body = found.status === 200 ? found.body : null;
}

/** The frame headers, then the personal rules, on a response Koa is about to write. */
function finishKoaResponse(frame: Frame, ctx: Context): void {
  if (ctx.headerSent) return;
  ctx.set(frame.headers);
  if (ctx.state.requestId !== undefined) ctx.set(REQUEST_ID_HEADER, ctx.state.requestId);
  frame.personalize?.(ctx);
}

/** Tells every reporter how the request ended; a reporter's failure is its own. */
function report(frame: Frame, ctx: Context, started: number, status: number, early: EarlyAnswer | undefined, answeredEarly: boolean): void {
  if (frame.reporters.length === 0) return;
  // Koa's request, not the context's delegating getters: those are one shared function reading
  // `this[target][name]`, a megamorphic load on every response.
  const done: RequestReport = {
    method: ctx.request.method,
    path: ctx.request.path,
    status,
    durationMs: performance.now() - started,
    route: early?.route ?? matchedRoute(ctx) ?? 'unmatched',
    bytes: bytesSent(ctx, status, early),
    pageCache: ctx.state.pageCache,
    early: answeredEarly,
    requestId: ctx.state.requestId,
  };
  for (const reporter of frame.reporters) {
    try {
      reporter.report(done);
    } catch {
      // Reporting must never change the response, which is already on its way.
    }
  }
}

function bytesSent(ctx: Context, status: number, early: EarlyAnswer | undefined): number | undefined {
  if (ctx.req.method === 'HEAD' || status === 204 || status === 304) return 0;
  if (early !== undefined) return early.body?.length;
  const length: unknown = ctx.response.get('Content-Length');
  return typeof length === 'string' || typeof length === 'number' ? Number(length) : undefined;
}
