import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestCollector } from '../../../src/cache/toolbar/collector.ts';
import { watchViews } from '../../../src/cache/toolbar/templates.ts';

let dir: string;

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function views() {
  dir = mkdtempSync(join(tmpdir(), 'kiln-toolbar-views-'));
  writeFileSync(join(dir, 'base.njk'), '<main>{% block content %}{% endblock %}</main>');
  writeFileSync(join(dir, 'page.njk'), '{% extends "base.njk" %}{% block content %}{% for i in [1, 2] %}{% include "item.njk" %}{% endfor %}{% endblock %}');
  writeFileSync(join(dir, 'item.njk'), '<p>{{ i }}</p>');
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
  return {
    env,
    render: (template: string, context: Record<string, unknown>) =>
      new Promise<string>((resolve, reject) => env.render(template, context, (err, html) => (err ? reject(err) : resolve(html ?? '')))),
  };
}

describe('watchViews()', () => {
  it('records the page, its parent and every include of a request, and the render time', async () => {
    const collector = new RequestCollector();
    const watched = watchViews(views(), collector);
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      expect(await watched.render('page.njk', {})).toBe('<main><p>1</p><p>2</p></main>');
      return r;
    });
    expect(record.templates).toEqual(['page.njk', 'base.njk', 'item.njk', 'item.njk']);
    expect(record.timings.renderMs).toBeGreaterThan(0);
  });

  it('records nothing outside a request and instruments an environment only once', async () => {
    const collector = new RequestCollector();
    const base = views();
    const once = watchViews(base, collector);
    const twice = watchViews(once, collector);
    await twice.render('page.njk', {});
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      await twice.render('item.njk', { i: 3 });
      return r;
    });
    expect(record.templates).toEqual(['item.njk']);
  });
});
