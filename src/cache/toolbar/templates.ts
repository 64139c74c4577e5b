import type nunjucks from 'nunjucks';
import type { RequestCollector } from './collector.ts';

/** The shape of a template renderer the toolbar can watch: a Nunjucks environment and an async render. */
export interface WatchableViews {
  env: nunjucks.Environment;
  render(template: string, context: Record<string, unknown>): Promise<string>;
}

const watched = new WeakSet<nunjucks.Environment>();

/**
 * Reports to `collector` every template the environment loads during a request (the page, its
 * parents, includes and imports all go through `getTemplate`) and the time spent in `render`.
 * Returns views whose `render` is measured; the environment is instrumented once, in place.
 *
 * @example
 * const views = watchViews(createViews({ dir, noCache }), collector);
 */
export function watchViews<V extends WatchableViews>(views: V, collector: RequestCollector): V {
  const { env } = views;
  if (!watched.has(env)) {
    watched.add(env);
    const original: unknown = env.getTemplate;
    if (typeof original !== 'function') throw new TypeError('watchViews: the environment has no getTemplate');
    // Nunjucks' compiled templates call env.getTemplate(name, eager, parent, ignoreMissing, cb).
    Object.defineProperty(env, 'getTemplate', {
      configurable: true,
      writable: true,
      value: function getTemplate(...args: unknown[]): unknown {
        if (typeof args[0] === 'string') collector.recordTemplate(args[0]);
        return Reflect.apply(original, env, args);
      },
    });
  }
  return { ...views, render: (template: string, context: Record<string, unknown>) => collector.measureRender(() => views.render(template, context)) };
}
