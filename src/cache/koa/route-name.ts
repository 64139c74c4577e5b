import type { Context } from 'koa';

// Where @koa/router leaves the pattern of the route it matched.
const MATCHED_ROUTE = '_matchedRoute';

/**
 * The route pattern @koa/router matched for this request (e.g. `/posts/:id`), if any: what
 * metrics and logs name a request by, never its raw path (whose values are unbounded).
 */
export function matchedRoute(ctx: Context): string | undefined {
  const route: unknown = Reflect.get(ctx, MATCHED_ROUTE);
  return typeof route === 'string' ? route : undefined;
}

/** Names the route a response answered by something else than the router stands for (an early answer). */
export function setMatchedRoute(ctx: Context, route: string): void {
  Reflect.set(ctx, MATCHED_ROUTE, route);
}
