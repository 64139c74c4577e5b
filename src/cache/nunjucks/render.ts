import { AsyncLocalStorage } from 'node:async_hooks';
import nunjucks from 'nunjucks';

/**
 * Asynchronous rendering that notices when Nunjucks finishes a template while a `<% cache %>`
 * tag is still working.
 *
 * Nunjucks decides at compile time which constructs wait for asynchronous work, from what they
 * contain lexically. A plain `for` or `if` around an `include` whose template holds a cache tag
 * (or a macro reached in a way the parser cannot see) therefore does not wait: the page comes
 * back without that part and no error is raised (nunjucks issues #792, #743). Rendered through
 * {@link renderTemplate}, such a page is an error that names the fix instead.
 */

/** Cache tags started and not yet finished in one render. */
interface RenderState {
  pending: number;
}

const renders = new AsyncLocalStorage<RenderState>();

/** Notes that a cache tag started in the current render; call the returned function when it is done. */
export function trackTag(): () => void {
  const state = renders.getStore();
  if (!state) return () => {};
  state.pending += 1;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    state.pending -= 1;
  };
}

/** The runtime `Frame` class, which the typings do not declare. */
function newFrame(): unknown {
  const Frame: unknown = Reflect.get(nunjucks.runtime, 'Frame');
  if (typeof Frame !== 'function') throw new Error('renderTemplate needs nunjucks 3.x (runtime.Frame is missing)');
  return Reflect.construct(Frame, []);
}

/**
 * Renders `name` with `context` asynchronously and resolves the HTML; rejects with a clear
 * error when a cache tag had not finished when Nunjucks declared the template done.
 *
 * @example
 * const html = await renderTemplate(env, 'pages/index.njk', { posts });
 */
export function renderTemplate(env: nunjucks.Environment, name: string, context: object): Promise<string> {
  const state: RenderState = { pending: 0 };
  return new Promise((resolve, reject) => {
    renders.run(state, () => {
      env.getTemplate(name, false, (loadError, template) => {
        if (loadError || !template) return reject(loadError ?? new Error(`template ${name} not found`));
        // A parent frame makes Nunjucks call back at the very moment the template ends (not on a
        // later tick), so a tag still pending at that moment is caught.
        const render: unknown = Reflect.get(template, 'render');
        if (typeof render !== 'function') return reject(new Error('renderTemplate needs nunjucks 3.x'));
        Reflect.apply(render, template, [
          context,
          newFrame(),
          (error: unknown, html: unknown) => {
            if (error) return reject(error);
            if (state.pending > 0) {
              return reject(
                new Error(
                  `template ${name} finished while ${state.pending} cache tag(s) were still rendering, so part of the ` +
                    'page would be missing: a cache tag inside an include must not sit in a plain for or if ' +
                    '(use asyncEach or ifAsync there), nor in a macro, call, filter or set block',
                ),
              );
            }
            resolve(typeof html === 'string' ? html : '');
          },
        ]);
      });
    });
  });
}
