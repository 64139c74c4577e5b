import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Runs the keeper in a fresh process with V8's test hooks (`%HaveSameMap`, `gc()`, Node's
 * internal async-hooks state), holding what it returns only weakly, and reports what it saw
 * after a full collection made while no tick was pending: the situation that made Node 20's ticks
 * slow for the rest of a server's life.
 */
function runKeeper(): Record<string, boolean> {
  const script = `
    import { createHook } from 'node:async_hooks';
    import { createRequire } from 'node:module';
    import { setTimeout as sleep } from 'node:timers/promises';
    import { keepNextTickShape } from './src/cache/koa/next-tick-shape.ts';
    const { initHooksExist } = createRequire(import.meta.url)('internal/async_hooks');
    const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
    const kept = new WeakRef(keepNextTickShape());
    const noHookLeft = !initHooksExist();
    const sameRecordAgain = keepNextTickShape() === kept.deref();
    // Every tick runs and none is pending: then full collections, as an idle server's memory reducer makes.
    await sleep(20);
    globalThis.gc();
    await sleep(20);
    globalThis.gc();
    let fresh;
    const hook = createHook({ init(_id, type, _trigger, resource) { if (type === 'TickObject') fresh ??= resource; } }).enable();
    process.nextTick(() => {});
    hook.disable();
    const record = kept.deref();
    process.stdout.write(JSON.stringify({
      stillHeld: record !== undefined,
      isTickRecord: typeof record?.callback === 'function',
      noHookLeft,
      sameRecordAgain,
      freshRecordSharesItsMap: record !== undefined && fresh !== undefined && sameMap(record, fresh),
    }));
  `;
  const flags = ['--expose-gc', '--allow-natives-syntax', '--expose-internals', '--import', 'tsx', '--input-type=module', '-e', script];
  const run = spawnSync(process.execPath, flags, { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`the keeper's process failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, boolean>;
}

describe('keepNextTickShape', () => {
  it("holds one of Node's next-tick records, so records made after an idle full collection keep its map", () => {
    expect(runKeeper()).toEqual({ stillHeld: true, isTickRecord: true, noHookLeft: true, sameRecordAgain: true, freshRecordSharesItsMap: true });
  });
});
