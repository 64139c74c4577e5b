import nunjucks from 'nunjucks';
import { Cache } from '../../../src/cache/cache.ts';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { FragmentCacheExtension } from '../../../src/cache/nunjucks/fragment-tag.ts';
import { renderTemplate } from '../../../src/cache/nunjucks/render.ts';
import { FlakyBackend } from '../helpers.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

/** The blog's delimiters: blocks `<% %>`, variables `{{ }}`, comments `<# #>`. */
export const BLOG_TAGS = {
  blockStart: '<%',
  blockEnd: '%>',
  variableStart: '{{',
  variableEnd: '}}',
  commentStart: '<#',
  commentEnd: '#>',
};

/** A loader serving templates from an object (name → source), with the name as the path. */
export class MapLoader implements nunjucks.ILoader {
  constructor(readonly templates: Record<string, string>) {}

  /** The source of a template; throws for an unknown name. */
  getSource(name: string): nunjucks.LoaderSource {
    const src = this.templates[name];
    if (src === undefined) throw new Error(`no template ${name}`);
    return { src, path: name, noCache: true };
  }
}

/**
 * A Nunjucks environment (the blog's delimiters unless `tags` says otherwise) with the fragment
 * tag over a memory cache, a fake clock and a flaky-backend switch.
 */
export function fragmentEnv(templates: Record<string, string>, options: { tags?: typeof BLOG_TAGS | undefined } = { tags: BLOG_TAGS }) {
  const clock = new FakeClock();
  const backend = new FlakyBackend(new MemoryBackend({ clock }));
  const logger = new MemoryLogger();
  const cache = new Cache({ backend, clock, logger });
  const loader = new MapLoader(templates);
  const env = new nunjucks.Environment(loader, { autoescape: true, tags: options.tags });
  env.addExtension('FragmentCache', new FragmentCacheExtension(cache));
  /** Renders a template asynchronously through `renderTemplate`, as the blog does. */
  const render = (name: string, context: Record<string, unknown> = {}): Promise<string> => renderTemplate(env, name, context);
  /** Renders with Nunjucks' own `env.render`, without the unfinished-tag check. */
  const renderPlain = (name: string, context: Record<string, unknown> = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      env.render(name, context, (error, html) => (error ? reject(error) : resolve(html ?? '')));
    });
  return { env, cache, backend, clock, logger, loader, render, renderPlain };
}
