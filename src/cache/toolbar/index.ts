// The dev toolbar of Kiln's caching library (`kiln/cache/toolbar`): re-exports only.

export { createToolbar, type Toolbar, type ToolbarOptions } from './toolbar.ts';
export { LOCAL_HOST_NAMES, type ToolbarConfig } from './access.ts';
export { isLoopbackClient, LOOPBACK_IPS, normalizeIp, trustedClientIp } from '../koa/client-address.ts';
export { RequestCollector, type QueryReport, type RequestRecord } from './collector.ts';
export { TOOLBAR_ID_HEADER, TOOLBAR_PATHS } from './inspector.ts';
export { routeRows, type RouteRow, type RouterLike, type Versions } from './app-info.ts';
export { TOOLBAR_TOKEN_HEADER, type QueryExplainer } from './actions.ts';
export { MASK, maskSettings, maskUrlCredentials, redactSecrets } from './mask.ts';
export { watchLogger } from './logger.ts';
