import { Router } from '@koa/router';

/**
 * The blog's routers, all made here so they match paths the way every guard compares them: as
 * exact text. @koa/router matches a route case-insensitively unless told `sensitive` (its
 * `use()` layers always compare exactly), so `/ADMIN` would reach a route that a guard checking
 * for `/admin` lets through. Paths reach the routers in canonical form (web/canonical-path.ts:
 * no trailing or doubled slash, no dot segment, no needless escape), so case is the one
 * difference left, and `sensitive` removes it.
 */
export function createRouter(prefix?: string): Router {
  return new Router(prefix === undefined ? { sensitive: true } : { prefix, sensitive: true });
}

/** Throws when `router` was not made by {@link createRouter} with case-sensitive matching (checked at start-up). */
export function assertCaseSensitive(router: Router): void {
  if (router.opts.sensitive !== true) {
    const routes = router.stack.map((layer) => String(layer.path)).join(', ');
    throw new Error(`A router matches paths case-insensitively (${routes}): make it with createRouter() from src/blog/routes/router.ts`);
  }
}
