/**
 * Cache keys as people read them. keys.ts builds `namespace|len:part|len:part|` with every part
 * percent-escaped (and long keys cut and ended with `#sha256`); this undoes the escaping and the
 * framing for display only, e.g. `view|2:""|3:"/"|` → `view("", "/")`. Anything that is not in
 * that form (a tag name, a custom key) is shown as it is.
 */

/** The key in a form for people: `namespace(part, part…)`, a hashed key ending in `…#` and the hash's head. */
export function readableKey(key: string): string {
  const hash = key.indexOf('#');
  const head = hash >= 0 ? key.slice(0, hash) : key;
  const bar = head.indexOf('|');
  if (bar <= 0) return key;
  const parts: string[] = [];
  let at = bar + 1;
  let complete = true;
  while (at < head.length) {
    const frame = /^(\d+):/.exec(head.slice(at, at + 12));
    if (!frame) {
      complete = false;
      break;
    }
    const start = at + frame[0].length;
    const end = start + Number(frame[1]);
    if (end > head.length || (head[end] !== '|' && hash < 0)) {
      complete = false;
      break;
    }
    parts.push(unescapePart(head.slice(start, end)));
    at = end + 1;
  }
  if (hash < 0 && !complete) return key;
  const namespace = unescapePart(head.slice(0, bar));
  const tail = hash >= 0 ? `…#${key.slice(hash + 1, hash + 13)}` : '';
  return `${namespace}(${parts.join(', ')}${hash >= 0 && !complete ? (parts.length > 0 ? ', …' : '…') : ''})${tail}`;
}

/** Reverses keys.ts's escaping: `%XX` runs are UTF-8 bytes, `%uXXXX` a lone surrogate. */
export function unescapePart(text: string): string {
  return text.replace(/%u([0-9A-F]{4})|(?:%[0-9A-F]{2})+/g, (run: string, surrogate: string | undefined) => {
    if (surrogate !== undefined) return String.fromCharCode(parseInt(surrogate, 16));
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    return bytes.toString('utf8');
  });
}
