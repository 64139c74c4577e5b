import type { CacheBackend } from '../../src/cache/types.ts';
import { ControllableBackend } from '../support/controllable-backend.ts';

/** The fail-open tests' backend: a {@link ControllableBackend} named `flaky` over `inner`, switched by `failing`. */
export class FlakyBackend extends ControllableBackend {
  constructor(inner: CacheBackend) {
    super({ inner, name: 'flaky' });
  }

  /** Whether every call rejects. */
  get failing(): boolean {
    return this.mode === 'fail';
  }
  set failing(on: boolean) {
    this.mode = on ? 'fail' : 'ok';
  }
}

/** A unique prefix per call, so tests sharing a store (or a Redis server) never see each other. */
export function uniquePrefix(label: string): string {
  return `kiln-test:${label}:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}
