import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLogger, LineSink, logs } from '../src/log.ts';

function writer() {
  const writes: string[] = [];
  return { writes, write: (text: string | Uint8Array) => void writes.push(Buffer.from(text).toString()) };
}

describe('LineSink', () => {
  afterEach(() => vi.useRealTimers());

  it('writes the lines of many requests in one write, 50 ms after the first', () => {
    vi.useFakeTimers();
    const out = writer();
    const sink = new LineSink(out);
    sink.write('a\n');
    sink.write('b\n');
    vi.advanceTimersByTime(49);
    expect(out.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out.writes).toEqual(['a\nb\n']);
    sink.write('c\n');
    vi.advanceTimersByTime(50);
    expect(out.writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('writes at once past 32 KB, and on flush()', () => {
    vi.useFakeTimers();
    const out = writer();
    const sink = new LineSink(out);
    // A line is added while it surely fits in 32 KB as UTF-8 (3 bytes a character at most).
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 32; i++) sink.write(line);
    expect(out.writes).toHaveLength(1);
    expect(out.writes[0].length).toBeLessThanOrEqual(32 * 1024);
    sink.write('tail\n');
    sink.flush();
    expect(out.writes).toHaveLength(2);
    expect(out.writes.join('')).toBe(`${line.repeat(32)}tail\n`);
    vi.advanceTimersByTime(100);
    expect(out.writes).toHaveLength(2);
  });

  it('reuses its buffer after a stream wrote a chunk at once, never while a writer holds it', async () => {
    const stream = (finish: (done: () => void) => void) => {
      const text: string[] = [];
      const buffers = new Set<ArrayBufferLike>();
      const out = new Writable({
        write(chunk: Buffer, _encoding, done) {
          buffers.add(chunk.buffer);
          // What the chunk holds once the stream is done with it.
          finish(() => {
            text.push(chunk.toString());
            done();
          });
        },
      });
      return { out, text, buffers };
    };
    const lines = ['one\n', 'two\n', 'three\n'];
    const atOnce = stream((done) => done());
    const sink = new LineSink(atOnce.out);
    for (const line of lines) {
      sink.write(line);
      sink.flush();
    }
    expect(atOnce.text).toEqual(lines);
    expect(atOnce.buffers.size).toBe(1);

    const later = stream((done) => setImmediate(done));
    const slow = new LineSink(later.out);
    for (const line of lines) {
      slow.write(line);
      slow.flush();
    }
    await new Promise((resolve) => later.out.end(resolve));
    expect(later.text).toEqual(lines);
    expect(later.buffers.size).toBe(3);
    // A test's array keeps every chunk: each has its own bytes.
    const kept: Uint8Array[] = [];
    const arrays = new LineSink({ write: (chunk) => void kept.push(chunk) });
    for (const line of lines) {
      arrays.write(line);
      arrays.flush();
    }
    expect(kept.map((chunk) => Buffer.from(chunk).toString())).toEqual(lines);
  });
});

describe('consoleLogger()', () => {
  it('writes JSON lines with the worker, and follows the level', () => {
    const out = writer();
    const err = writer();
    const log = consoleLogger({ level: 'warn', format: 'json', worker: 3, out, err, now: () => 0 });
    log.info('hidden');
    log.debug?.('hidden too');
    log.warn('say "this"');
    log.error('and this');
    expect(out.writes).toEqual([]);
    expect(err.writes.map((l) => JSON.parse(l))).toEqual([
      { time: '1970-01-01T00:00:00.000Z', level: 'warn', worker: 3, msg: 'say "this"' },
      { time: '1970-01-01T00:00:00.000Z', level: 'error', worker: 3, msg: 'and this' },
    ]);
  });

  it('keeps the readable line of development and test, and writes nothing when silent', () => {
    const out = writer();
    consoleLogger({ out, now: () => 0 }).info('Kiln listening on http://127.0.0.1:3000 (test)');
    expect(out.writes).toEqual(['1970-01-01T00:00:00.000Z info Kiln listening on http://127.0.0.1:3000 (test)\n']);
    const quiet = writer();
    const silent = consoleLogger({ level: 'silent', out: quiet, err: quiet });
    silent.info('x');
    silent.error('y');
    expect(quiet.writes).toEqual([]);
    expect([logs('debug', 'debug'), logs('info', 'debug'), logs('error', 'error'), logs('silent', 'error')]).toEqual([true, false, true, false]);
  });
});
