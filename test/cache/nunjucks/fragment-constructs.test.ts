import { describe, expect, it } from 'vitest';
import { fragmentKey } from '../../../src/cache/keys.ts';
import { fragmentEnv } from './env.ts';

function counter() {
  const calls = { n: 0 };
  return { calls, count: () => ++calls.n };
}

describe('<% cache %> inside template constructs', () => {
  it('works inside for, once per vary value, with loop variables', async () => {
    const { render } = fragmentEnv({
      'list.njk': '<% for p in posts %><% cache 60, "item", p %>{{ loop.index }}:{{ p }}#{{ count() }} <% endcache %><% endfor %>|end',
    });
    const { calls, count } = counter();
    expect(await render('list.njk', { count, posts: ['a', 'b', 'c'] })).toBe('1:a#1 2:b#2 3:c#3 |end');
    expect(await render('list.njk', { count, posts: ['a', 'b', 'c'] })).toBe('1:a#1 2:b#2 3:c#3 |end');
    // A cached body is reused as it was rendered, loop index included.
    expect(await render('list.njk', { count, posts: ['c', 'd'] })).toBe('3:c#3 2:d#4 |end');
    expect(calls.n).toBe(4);
  });

  it('works inside if and else', async () => {
    const { render } = fragmentEnv({
      'if.njk': '<% if on %><% cache 60, "yes" %>Y{{ count() }}<% endcache %><% else %><% cache 60, "no" %>N{{ count() }}<% endcache %><% endif %>.',
    });
    const { calls, count } = counter();
    expect(await render('if.njk', { count, on: true })).toBe('Y1.');
    expect(await render('if.njk', { count, on: false })).toBe('N2.');
    expect(await render('if.njk', { count, on: true })).toBe('Y1.');
    expect(calls.n).toBe(2);
  });

  it('works in an included template', async () => {
    const { render } = fragmentEnv({
      'page.njk': '<main><% include "side.njk" %></main>',
      'side.njk': '<% cache 60, "side" %>side {{ count() }}<% endcache %>',
    });
    const { count } = counter();
    expect(await render('page.njk', { count })).toBe('<main>side 1</main>');
    expect(await render('page.njk', { count })).toBe('<main>side 1</main>');
  });

  it('works in an include inside asyncEach and ifAsync, the constructs that wait for includes', async () => {
    const { render } = fragmentEnv({
      'page.njk': '<% asyncEach p in posts %><% include "teaser.njk" %><% endeach %><% ifAsync on %><% include "teaser.njk" %><% endif %>!',
      'teaser.njk': '<% cache 60, "teaser", p %>[{{ p }} {{ count() }}]<% endcache %>',
    });
    const { calls, count } = counter();
    expect(await render('page.njk', { count, posts: [1, 2], on: true, p: 9 })).toBe('[1 1][2 2][9 3]!');
    expect(await render('page.njk', { count, posts: [1, 2], on: true, p: 9 })).toBe('[1 1][2 2][9 3]!');
    expect(calls.n).toBe(3);
  });

  it.each([
    ['for', '<% for p in [1] %><% include "side.njk" %><% endfor %>after'],
    ['if', '<% if true %><% include "side.njk" %><% endif %>after'],
  ])('fails clearly, instead of dropping the include, for an include inside a plain %s', async (_construct, source) => {
    const { render } = fragmentEnv({ 'page.njk': source, 'side.njk': '<% cache 60 %>side<% endcache %>' });
    await expect(render('page.njk')).rejects.toThrow(/still rendering.*use asyncEach or ifAsync/);
  });

  it('works in blocks of a template that extends another, with super()', async () => {
    const { render } = fragmentEnv({
      'base.njk': '<html><% block main %>base main<% endblock %><% cache 60, "footer" %>footer {{ count() }}<% endcache %></html>',
      'child.njk':
        '<% extends "base.njk" %><% block main %><% cache 60, "main" %>child {{ count() }} + {{ super() }}<% endcache %><% endblock %>',
    });
    const { calls, count } = counter();
    expect(await render('child.njk', { count })).toBe('<html>child 1 + base mainfooter 2</html>');
    expect(await render('child.njk', { count })).toBe('<html>child 1 + base mainfooter 2</html>');
    expect(calls.n).toBe(2);
  });

  it('nests: a hit of the outer fragment skips the inner one, a miss reuses the inner hit', async () => {
    const { render, cache } = fragmentEnv({
      'page.njk': '<% cache 60, "outer" %>o{{ count() }}(<% cache 60, "inner" %>i{{ count() }}<% endcache %>)<% endcache %>',
    });
    const { calls, count } = counter();
    expect(await render('page.njk', { count })).toBe('o1(i2)');
    expect(await render('page.njk', { count })).toBe('o1(i2)');
    expect(calls.n).toBe(2);
    await cache.delete(fragmentKey('outer', []));
    expect(await render('page.njk', { count })).toBe('o3(i2)');
    expect(calls.n).toBe(3);
  });

  it('calls a macro defined outside from inside the cached body', async () => {
    const { render } = fragmentEnv({
      'page.njk': '<% macro badge(t) %><b>{{ t }}</b><% endmacro %><% cache 60 %>{{ badge("x") }}{{ count() }}<% endcache %>',
    });
    const { count } = counter();
    expect(await render('page.njk', { count })).toBe('<b>x</b>1');
    expect(await render('page.njk', { count })).toBe('<b>x</b>1');
  });

  it('also works through Nunjucks’ own env.render for the supported constructs', async () => {
    const { renderPlain } = fragmentEnv({
      'page.njk': '<% for i in [1, 2] %><% if i > 1 %><% cache 60, "n", i %>{{ i }}{{ count() }}<% endcache %><% endif %><% endfor %>',
    });
    const { count } = counter();
    expect(await renderPlain('page.njk', { count })).toBe('21');
    expect(await renderPlain('page.njk', { count })).toBe('21');
  });
});

describe('<% cache %> where Nunjucks cannot wait for it', () => {
  it.each([
    ['macro', '<% macro m() %><% cache 60 %>x<% endcache %><% endmacro %>{{ m() }}'],
    ['macro', '<% macro m() %><% if true %><% for i in [1] %><% cache 60 %>x<% endcache %><% endfor %><% endif %><% endmacro %>'],
    ['call', '<% macro m() %>{{ caller() }}<% endmacro %><% call m() %><% cache 60 %>x<% endcache %><% endcall %>'],
    ['filter', '<% filter upper %><% cache 60 %>x<% endcache %><% endfilter %>'],
    ['set', '<% set captured %><% cache 60 %>x<% endcache %><% endset %>{{ captured }}'],
  ])('fails at compile time with a clear error inside %s', async (construct, source) => {
    const { render, renderPlain } = fragmentEnv({ 'page.njk': source });
    const message = new RegExp(`Line 1, Column \\d+\\]\\s+<% cache %> cannot be used inside <% ${construct} %>`);
    await expect(render('page.njk')).rejects.toThrow(message);
    await expect(renderPlain('page.njk')).rejects.toThrow(message);
  });

  it('accepts a tag after a macro, call, filter or set block has closed', async () => {
    const { render } = fragmentEnv({
      'page.njk':
        '<% macro m() %>m<% endmacro %><% set v = 1 %><% set b %>b<% endset %><% filter upper %>f<% endfilter %>' +
        '<% cache 60 %>{{ m() }}{{ v }}{{ b }}<% endcache %>',
    });
    expect(await render('page.njk')).toBe('Fm1b');
  });

  it('ignores block tags written inside raw (default delimiters: Nunjucks raw only knows those)', async () => {
    const source = '{% raw %}{% macro m() %}{% endraw %}{% cache 60 %}ok{% endcache %}';
    const { render } = fragmentEnv({ 'page.njk': source }, { tags: undefined });
    expect(await render('page.njk')).toBe('{% macro m() %}ok');
  });

  it('detects a macro with the default delimiters too', async () => {
    const { render } = fragmentEnv({ 'page.njk': '{% macro m() %}{% cache 60 %}x{% endcache %}{% endmacro %}' }, { tags: undefined });
    await expect(render('page.njk')).rejects.toThrow(/{% cache %} cannot be used inside {% macro %}/);
  });
});
