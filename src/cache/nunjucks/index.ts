// The Nunjucks side of Kiln's caching library: the `<% cache %>` fragment tag and the renderer
// it needs (re-exports only).

export { FragmentCacheExtension, templateLabel } from './fragment-tag.ts';
export { renderTemplate } from './render.ts';
