import cluster, { type Worker } from 'node:cluster';
import { systemClock, type Clock } from './cache/index.ts';
import { serveFleetMetrics } from './fleet-metrics.ts';
import { EXIT_CANNOT_LISTEN } from './listen-failure.ts';
import type { Logger } from './log.ts';

/** How the primary restarts workers that die; durations in milliseconds. */
export interface RestartPolicy {
  /** Delay before the first restart of a worker that died young. */
  baseDelayMs: number;
  /** The longest delay, however often a worker keeps dying. */
  maxDelayMs: number;
  /** A worker that lived this long died of something new: its next restart is quick again. */
  stableAfterMs: number;
}

/** Kiln's restart policy: 0.1 s, doubling per early death in a row, at most 30 s. */
export const RESTART_POLICY: RestartPolicy = { baseDelayMs: 100, maxDelayMs: 30_000, stableAfterMs: 10_000 };

/**
 * The delay before restarting a worker after `earlyDeaths` deaths in a row that each came
 * before `stableAfterMs` (0 after a worker that had been stable): base × 2^n, capped.
 */
export function restartDelay(earlyDeaths: number, policy: RestartPolicy = RESTART_POLICY): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(earlyDeaths, 30));
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  /** How many workers to keep running. */
  count: number;
  logger: Logger;
  /** Variables added to each worker's environment. */
  env?: Record<string, string>;
  policy?: RestartPolicy;
  clock?: Clock;
}

/** The running primary. */
export interface Primary {
  /** Stops restarting, asks every worker to finish (SIGTERM) and resolves once all have exited. */
  stop(): Promise<void>;
}

// One slot per wanted worker: a restarted worker takes the slot of the one that died.
interface Slot {
  worker?: Worker;
  startedAt: number;
  earlyDeaths: number;
  timer?: NodeJS.Timeout;
}

/**
 * Runs the cluster primary: forks `count` workers (each re-runs the entry script, which sees
 * `cluster.isWorker`), and restarts any worker that dies, with a growing delay while workers
 * keep dying young. If the very first workers die before any has listened (a port in use, a
 * database that refuses them), it stops them all and exits 1 rather than loop forever.
 * Call it only in the primary, once the database is migrated.
 */
export function runPrimary(options: PrimaryOptions): Primary {
  const { count, logger } = options;
  const policy = options.policy ?? RESTART_POLICY;
  const clock = options.clock ?? systemClock;
  const slots: Slot[] = Array.from({ length: count }, () => ({ startedAt: 0, earlyDeaths: 0 }));
  let stopping = false;
  let anyListened = false;

  const fork = (slot: Slot): void => {
    slot.timer = undefined;
    slot.startedAt = clock.now();
    slot.worker = cluster.fork(options.env);
  };
  const slotOf = (worker: Worker): Slot | undefined => slots.find((s) => s.worker === worker);

  cluster.on('listening', () => {
    anyListened = true;
  });
  cluster.on('exit', (worker, code, signal) => {
    const slot = slotOf(worker);
    if (slot === undefined) return;
    slot.worker = undefined;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) return;
    if (!anyListened) {
      // A worker that could not listen has already said why in one line (src/server.ts).
      if (code !== EXIT_CANNOT_LISTEN) logger.error(`worker ${worker.process.pid} exited (${how}) before any worker listened; stopping`);
      void stop().finally(() => process.exit(1));
      return;
    }
    const lived = clock.now() - slot.startedAt;
    slot.earlyDeaths = lived < policy.stableAfterMs ? slot.earlyDeaths + 1 : 0;
    const delay = restartDelay(Math.max(0, slot.earlyDeaths - 1), policy);
    logger.warn(`worker ${worker.process.pid} exited (${how}) after ${lived} ms; restarting it in ${delay} ms`);
    slot.timer = setTimeout(() => fork(slot), delay);
  });

  const stop = async (): Promise<void> => {
    stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of slots) {
      clearTimeout(slot.timer);
      const worker = slot.worker;
      if (worker === undefined || worker.isDead()) continue;
      exits.push(new Promise((resolve) => worker.once('exit', () => resolve())));
      worker.process.kill('SIGTERM');
      // A worker stuck past its own 5 s shutdown limit is killed.
      setTimeout(() => worker.process.kill('SIGKILL'), 10_000).unref();
    }
    await Promise.all(exits);
  };

  // The workers' /metrics scrapes are answered here with the sums over all of them.
  serveFleetMetrics(cluster);
  logger.info(`Kiln primary ${process.pid} starting ${count} workers`);
  for (const slot of slots) fork(slot);
  return { stop };
}
