// The development toolbar of Kiln's caching library: re-exports only.

export { createToolbar, type Toolbar, type ToolbarOptions } from './toolbar.ts';
export {
  isLoopbackClient,
  LOCAL_HOST_NAMES,
  LOOPBACK_IPS,
  normalizeIp,
  trustedClientIp,
  type ToolbarConfig,
} from './access.ts';
export type { QueryReport } from './collector.ts';
