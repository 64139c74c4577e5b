import { maskSettings } from './mask.ts';

/** One route of the app's route table. */
export interface RouteRow {
  /** HTTP methods, upper case (`HEAD` left out where `GET` is there). */
  methods: string[];
  path: string;
  /** The route's name, when it has one. */
  name?: string;
}

/** What the toolbar reads of a @koa/router `Router`: its layers. */
export interface RouterLike {
  stack: ReadonlyArray<{ methods: readonly string[]; path: string | RegExp; name?: string | null }>;
}

/** The route table of `routers`, in matching order; layers without methods (`router.use`) are left out. */
export function routeRows(routers: readonly RouterLike[]): RouteRow[] {
  const rows: RouteRow[] = [];
  for (const router of routers) {
    for (const layer of router.stack) {
      if (layer.methods.length === 0) continue;
      const methods = layer.methods.filter((m) => !(m === 'HEAD' && layer.methods.includes('GET')));
      rows.push({ methods: [...methods], path: String(layer.path), ...(layer.name ? { name: layer.name } : {}) });
    }
  }
  return rows;
}

/** Name → version, e.g. `{ Koa: '3.3.0', 'PostgreSQL server': '15.4' }`. */
export type Versions = Record<string, string>;

/** What the application tells the toolbar about itself; the library reads no environment of its own. */
export interface AppInfoOptions {
  /** The effective configuration, shown masked (mask.ts) in the Settings tab. */
  settings?: unknown;
  /**
   * Versions of the app, its libraries and the servers it talks to, asked once, the first time a
   * bar or panel needs them (Node's own is added). A failing entry should say so in its value.
   */
  versions?: () => Promise<Versions>;
  /** The route table (see {@link routeRows}), read each time it is shown. */
  routes?: () => readonly RouteRow[];
}

/** The Settings, Versions and Routes tabs' data, built once per app. */
export class AppInfo {
  /** The settings with every secret masked, computed once. */
  readonly settings: unknown;
  private versionsOnce: Promise<Versions> | undefined;

  constructor(private readonly options: AppInfoOptions = {}) {
    this.settings = options.settings === undefined ? undefined : maskSettings(options.settings);
  }

  /** Node's version and the application's, asked once. */
  versions(): Promise<Versions> {
    this.versionsOnce ??= this.loadVersions();
    return this.versionsOnce;
  }

  /** The route table now. */
  routes(): readonly RouteRow[] {
    return this.options.routes?.() ?? [];
  }

  private async loadVersions(): Promise<Versions> {
    const node: Versions = { Node: process.versions.node };
    try {
      return { ...node, ...(await this.options.versions?.()) };
    } catch (error) {
      this.versionsOnce = undefined;
      return { ...node, error: `could not be read: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}
