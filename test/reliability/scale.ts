import { appendFileSync } from 'node:fs';

/**
 * How big the reliability suites run. `npm test` (and CI) uses small counts so the whole suite
 * stays quick; `KILN_FULL=1` runs the full counts whose figures RELIABILITY.md records, e.g.
 * `KILN_FULL=1 npx vitest run test/reliability`. `KILN_RELIABILITY_REPORT=FILE` appends each
 * scenario's figures to FILE as JSON lines.
 */
export const FULL = process.env.KILN_FULL === '1';

/** `ci` under `npm test`, `full` under KILN_FULL=1. */
export function scaled<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

/** Prints a scenario's figures and appends them to `KILN_RELIABILITY_REPORT` when set. */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, full: FULL, ...figures });
  console.info(`[reliability] ${line}`);
  const file = process.env.KILN_RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}
