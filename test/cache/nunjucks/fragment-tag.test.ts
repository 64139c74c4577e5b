import { describe, expect, it, vi } from 'vitest';
import { fragmentKey } from '../../../src/cache/keys.ts';
import { positionalFragmentKey } from '../../../src/cache/keys.ts';
import type { CacheEvent } from '../../../src/cache/types.ts';
import { fragmentEnv } from './env.ts';

/** A context function that counts how often the template body really ran. */
function counter() {
  const calls = { n: 0 };
  return { calls, count: () => ++calls.n };
}

describe('<% cache %> basics', () => {
  it('renders the body once and serves it from the cache afterwards', async () => {
    const { render } = fragmentEnv({ 'page.njk': 'A<% cache 60 %>[{{ count() }}]<% endcache %>B' });
    const { calls, count } = counter();
    expect(await render('page.njk', { count })).toBe('A[1]B');
    expect(await render('page.njk', { count })).toBe('A[1]B');
    expect(calls.n).toBe(1);
  });

  it('renders the body once for concurrent renders of the same fragment', async () => {
    const { render } = fragmentEnv({ 'page.njk': '<% cache 60, "shared" %>{{ count() }}<% endcache %>' });
    const { calls, count } = counter();
    const pages = await Promise.all(Array.from({ length: 10 }, () => render('page.njk', { count })));
    expect(new Set(pages)).toEqual(new Set(['1']));
    expect(calls.n).toBe(1);
  });

  it('renders again after the timeout', async () => {
    const { render, clock } = fragmentEnv({ 'page.njk': '<% cache 30 %>{{ count() }}<% endcache %>' });
    const { count } = counter();
    await render('page.njk', { count });
    clock.advance(29_000);
    expect(await render('page.njk', { count })).toBe('1');
    clock.advance(1_000);
    expect(await render('page.njk', { count })).toBe('2');
  });

  it('uses the cache default timeout for none, and keeps 0 forever', async () => {
    const { render, clock } = fragmentEnv({
      'none.njk': '<% cache none %>{{ count() }}<% endcache %>',
      'zero.njk': '<% cache 0 %>{{ count() }}<% endcache %>',
    });
    const none = counter();
    const zero = counter();
    await render('none.njk', { count: none.count });
    await render('zero.njk', { count: zero.count });
    clock.advance(299_000);
    expect(await render('none.njk', { count: none.count })).toBe('1');
    clock.advance(1_000);
    expect(await render('none.njk', { count: none.count })).toBe('2');
    clock.advance(10 ** 9);
    expect(await render('zero.njk', { count: zero.count })).toBe('1');
  });

  it('deletes the fragment and renders the body uncached for "del"', async () => {
    const { render } = fragmentEnv({ 'side.njk': '<% cache mode, "sidebar" %>{{ count() }}<% endcache %>' });
    const { count } = counter();
    expect(await render('side.njk', { count, mode: 60 })).toBe('1');
    expect(await render('side.njk', { count, mode: 60 })).toBe('1');
    expect(await render('side.njk', { count, mode: 'del' })).toBe('2');
    expect(await render('side.njk', { count, mode: 60 })).toBe('3');
  });

  it('keeps one entry per set of vary values', async () => {
    const { render } = fragmentEnv({
      'teaser.njk': '<% cache 60, "teaser", post.id, lang %>{{ post.title }} {{ lang }} #{{ count() }}<% endcache %>',
    });
    const { calls, count } = counter();
    const one = { id: 1, title: 'One' };
    expect(await render('teaser.njk', { count, post: one, lang: 'en' })).toBe('One en #1');
    expect(await render('teaser.njk', { count, post: one, lang: 'fr' })).toBe('One fr #2');
    expect(await render('teaser.njk', { count, post: { id: 2, title: 'Two' }, lang: 'en' })).toBe('Two en #3');
    expect(await render('teaser.njk', { count, post: one, lang: 'en' })).toBe('One en #1');
    expect(calls.n).toBe(3);
  });

  it('stores a named fragment under fragmentKey(name, varyOn), so code can invalidate it', async () => {
    const { render, cache } = fragmentEnv({ 'teaser.njk': '<% cache 60, "teaser", id, "en" %>{{ count() }}<% endcache %>' });
    const { count } = counter();
    await render('teaser.njk', { count, id: 3 });
    expect(await cache.has(fragmentKey('teaser', [3, 'en']))).toBe(true);
    expect(await cache.has(fragmentKey('teaser', ['3', 'en']))).toBe(false);
    await cache.delete(fragmentKey('teaser', [3, 'en']));
    expect(await render('teaser.njk', { count, id: 3 })).toBe('2');
  });

  it('keys an unnamed fragment by its template and position', async () => {
    const { render, cache } = fragmentEnv({
      'a.njk': '<% cache 60 %>{{ count() }}<% endcache %>\n  <% cache 60 %>{{ count() }}<% endcache %>',
      'b.njk': '<% cache 60 %>{{ count() }}<% endcache %>',
      'vary.njk': '<% cache 60, none, user %>{{ user }} {{ count() }}<% endcache %>',
    });
    const { count } = counter();
    expect(await render('a.njk', { count })).toBe('1\n  2');
    expect(await render('b.njk', { count })).toBe('3');
    expect(await render('a.njk', { count })).toBe('1\n  2');
    // Line and column (1-based) of the word `cache` in each tag.
    expect(await cache.has(positionalFragmentKey('a.njk', 1, 4, []))).toBe(true);
    expect(await cache.has(positionalFragmentKey('a.njk', 2, 6, []))).toBe(true);
    expect(await render('vary.njk', { count, user: 'ann' })).toBe('ann 4');
    expect(await render('vary.njk', { count, user: 'bob' })).toBe('bob 5');
    expect(await cache.has(positionalFragmentKey('vary.njk', 1, 4, ['ann']))).toBe(true);
  });

  it('returns the cached HTML as safe markup, escaped exactly once', async () => {
    const { render } = fragmentEnv({
      'esc.njk': '<% cache 60 %><i>{{ text }}</i>{{ html | safe }}<% endcache %>',
    });
    const context = { text: '<b>&', html: '<u>ok</u>' };
    const expected = '<i>&lt;b&gt;&amp;</i><u>ok</u>';
    expect(await render('esc.njk', context)).toBe(expected);
    expect(await render('esc.njk', context)).toBe(expected);
  });

  it('invalidates fragments by the tags given with tags=', async () => {
    const { render, cache } = fragmentEnv({ 'side.njk': '<% cache 600, "sidebar", tags=["posts"] %>{{ count() }}<% endcache %>' });
    const { count } = counter();
    await render('side.njk', { count });
    expect(await render('side.njk', { count })).toBe('1');
    await cache.invalidateTags(['posts']);
    expect(await render('side.njk', { count })).toBe('2');
  });

  it('emits operations with origin fragment and the template and line as detail', async () => {
    const { render, cache } = fragmentEnv({ 'page.njk': 'x\n<% cache 60, "n" %>y<% endcache %>' });
    const events: CacheEvent[] = [];
    cache.events.on('op', (event: CacheEvent) => events.push(event));
    await render('page.njk');
    await render('page.njk');
    expect(events.map((e) => `${e.op}:${e.result}:${e.origin}:${e.detail}`)).toEqual([
      'get:miss:fragment:page.njk:2',
      'set:set:fragment:page.njk:2',
      'get:hit:fragment:page.njk:2',
    ]);
  });

  it('renders the body uncached while the backend fails', async () => {
    const { render, backend } = fragmentEnv({ 'page.njk': '<% cache 60 %>{{ count() }}<% endcache %>' });
    const { count } = counter();
    backend.failing = true;
    expect(await render('page.njk', { count })).toBe('1');
    expect(await render('page.njk', { count })).toBe('2');
    backend.failing = false;
    expect(await render('page.njk', { count })).toBe('3');
    expect(await render('page.njk', { count })).toBe('3');
  });
});

describe('<% cache %> errors', () => {
  it.each([
    ['-1', /timeout must be seconds/],
    ['"60"', /timeout must be seconds/],
    ['60, 42', /name must be a non-empty string or none/],
    ['60, ""', /name must be a non-empty string or none/],
    ['60, "x", unknown=1', /unknown option unknown=/],
    ['60, "x", tags="posts"', /tags= must be a list of strings/],
  ])('refuses the arguments %s with a clear error', async (args, message) => {
    const { render } = fragmentEnv({ 'bad.njk': `<% cache ${args} %>x<% endcache %>` });
    await expect(render('bad.njk')).rejects.toThrow(message);
  });

  it('refuses a vary value with no stable form, naming the tag', async () => {
    const { render } = fragmentEnv({ 'bad.njk': '<% cache 60, "x", fn %>x<% endcache %>' });
    await expect(render('bad.njk', { fn: () => 1 })).rejects.toThrow(/cache tag at bad.njk:1: no stable cache key for a function/);
  });

  it('refuses a tag without a timeout at compile time', async () => {
    const { render } = fragmentEnv({ 'bad.njk': '<% cache %>x<% endcache %>' });
    await expect(render('bad.njk')).rejects.toThrow(/needs a timeout/);
  });

  it('refuses a fragment nested inside itself at compile time instead of waiting forever', async () => {
    const { render, renderPlain } = fragmentEnv({ 'loop.njk': '<% cache 60, "same" %>a<% cache 60, "same" %>b<% endcache %><% endcache %>' });
    await expect(render('loop.njk')).rejects.toThrow(/"same" is nested inside itself/);
    await expect(renderPlain('loop.njk')).rejects.toThrow(/"same" is nested inside itself/);
  });

  it('renders a fragment that reaches itself through an include uncached inside, and stores the outer one', async () => {
    const { render, cache } = fragmentEnv({
      'outer.njk': '<% cache 60, "box", n %>[<% include "inner.njk" %>]<% endcache %>',
      'inner.njk': '<% cache 60, "box", n %>in<% endcache %>',
    });
    await expect(render('outer.njk', { n: 1 })).resolves.toBe('[in]');
    expect(await cache.get(fragmentKey('box', [1]))).toBe('[in]');
    await expect(render('outer.njk', { n: 1 })).resolves.toBe('[in]');
  });

  it('renders the same fragment in a parallel loop once per render, without waiting on itself', async () => {
    const { render } = fragmentEnv({ 'loop.njk': '<% asyncAll i in [1, 2, 3] %><% cache 60, "cell" %>{{ count() }}<% endcache %><% endall %>' });
    const { count } = counter();
    const html = await render('loop.njk', { count });
    expect(html).toMatch(/^1\d\d$/);
    expect(await render('loop.njk', { count })).toBe('111');
  });

  it('keeps no AsyncLocalStorage: rendering never turns on async context tracking for the process', async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
    const enterWith = vi.spyOn(AsyncLocalStorage.prototype, 'enterWith');
    try {
      const { render } = fragmentEnv({
        'page.njk': '<% cache 60, "a" %>a<% include "part.njk" %><% endcache %>',
        'part.njk': '<% cache 60 %>p<% endcache %>',
      });
      expect(await render('page.njk')).toBe('ap');
      expect(run).not.toHaveBeenCalled();
      expect(enterWith).not.toHaveBeenCalled();
    } finally {
      run.mockRestore();
      enterWith.mockRestore();
    }
  });

  it('passes an error in the body to the render and caches nothing', async () => {
    const { render } = fragmentEnv({ 'page.njk': '<% cache 60 %>{{ count() }}{{ boom() }}<% endcache %>' });
    const { count } = counter();
    await expect(render('page.njk', { count })).rejects.toThrow(/boom/);
    await expect(render('page.njk', { count, boom: () => 'ok' })).resolves.toBe('2ok');
  });

  it('passes an error thrown after the tag to the render instead of crashing', async () => {
    const { render, renderPlain } = fragmentEnv({ 'page.njk': '<% cache 60 %>x<% endcache %>{{ boom() }}' });
    await expect(render('page.njk')).rejects.toThrow(/boom/);
    await expect(renderPlain('page.njk')).rejects.toThrow(/boom/);
  });
});

describe('<% cache %> reading a damaged stored fragment', () => {
  it.each([
    ['garbage', () => 'not a cache entry \u0000\uFFFF'],
    ['truncated', (good: string) => good.slice(0, Math.max(1, Math.floor(good.length / 2)))],
    ['of another format version', (good: string) => good.replace(/^\{"k":1/, '{"k":2')],
    ['valid JSON of the wrong shape', () => '{"k":1,"v":{"v":2,"t":"soon","e":5}}'],
  ])('treats %s as a miss: renders the body again and stores it anew', async (_, damage) => {
    const { render, cache } = fragmentEnv({ 'f.njk': '<% cache 60, "f" %>[{{ count() }}]<% endcache %>' });
    const { calls, count } = counter();
    expect(await render('f.njk', { count })).toBe('[1]');
    const key = fragmentKey('f', []);
    const good = await cache.backend.get(key);
    if (good === undefined) throw new Error('the fragment was not stored');
    await cache.backend.set(key, damage(good), 0);
    expect(await render('f.njk', { count })).toBe('[2]');
    expect(await render('f.njk', { count })).toBe('[2]');
    expect(calls.n).toBe(2);
  });
});
