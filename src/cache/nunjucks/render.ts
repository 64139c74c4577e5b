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
 *
 * The state of one render travels in its template context under {@link RENDER_STATE_VARIABLE}
 * (Nunjucks copies a context's variables into every included and extended template), not in
 * AsyncLocalStorage: on Node 20 one AsyncLocalStorage.run anywhere turns on promise hooks for
 * the whole process, and every request, cached ones included, would pay for it.
 */

/** The template variable carrying the render's state; reserved, templates must not set it. */
export const RENDER_STATE_VARIABLE = '__kilnRender';

/** What one {@link renderTemplate} call tracks across its templates. */
export class RenderState {
  /** Cache tags started and not yet finished. */
  pending = 0;
  /** Fragment keys whose bodies this render is computing, with how many times each. */
  private readonly computing = new Map<string, number>();

  /** Notes that a cache tag started; call the returned function when it is done. */
  tagStarted(): () => void {
    this.pending += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pending -= 1;
    };
  }

  /** Whether this render is already computing the fragment under `key`. */
  isComputing(key: string): boolean {
    return this.computing.has(key);
  }

  /** Runs `compute` as the body of the fragment under `key`. */
  async computingFragment<T>(key: string, compute: () => Promise<T>): Promise<T> {
    this.computing.set(key, (this.computing.get(key) ?? 0) + 1);
    try {
      return await compute();
    } finally {
      const left = (this.computing.get(key) ?? 1) - 1;
      if (left === 0) this.computing.delete(key);
      else this.computing.set(key, left);
    }
  }
}

/** The state of the render a Nunjucks context belongs to, if it was started by {@link renderTemplate}. */
export function renderStateOf(context: unknown): RenderState | undefined {
  if (context === null || typeof context !== 'object') return undefined;
  const variables: unknown = Reflect.get(context, 'ctx');
  if (variables === null || typeof variables !== 'object') return undefined;
  const state: unknown = Reflect.get(variables, RENDER_STATE_VARIABLE);
  return state instanceof RenderState ? state : undefined;
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
  const state = new RenderState();
  const variables = { ...context, [RENDER_STATE_VARIABLE]: state };
  return new Promise((resolve, reject) => {
    env.getTemplate(name, false, (loadError, template) => {
      if (loadError || !template) return reject(loadError ?? new Error(`template ${name} not found`));
      // A parent frame makes Nunjucks call back at the very moment the template ends (not on a
      // later tick), so a tag still pending at that moment is caught.
      const render: unknown = Reflect.get(template, 'render');
      if (typeof render !== 'function') return reject(new Error('renderTemplate needs nunjucks 3.x'));
      Reflect.apply(render, template, [
        variables,
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
}
