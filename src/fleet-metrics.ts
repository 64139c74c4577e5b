import type { Cluster, Worker } from 'node:cluster';
import { combineFamilies, isPerProcess, labelPerProcess, renderFamilies, type MetricFamily } from './cache/index.ts';

/**
 * /metrics across cluster workers. Counters stay plain numbers in each worker (nothing on the
 * hit path talks to another process); a scrape, which reaches one worker, asks the primary, the
 * primary asks every worker for its families over the cluster's IPC channel, adds them up and
 * answers. Counters and histograms are summed (also over workers that have since died, from the
 * last families they gave, so a sum never goes backwards when a worker is restarted); gauges and
 * the per-process families get a `worker` label instead.
 */

/** Where a process's own metric families come from (read when scraped). */
export type FamilySource = () => Promise<MetricFamily[]>;

/** What GET /metrics writes. */
export interface MetricsExposition {
  /** The exposition text; rejects when the numbers cannot be had (the route answers 503). */
  render(): Promise<string>;
}

/** The metrics of this process alone (one process serves: KILN_WORKERS=1). */
export function localExposition(source: FamilySource): MetricsExposition {
  return { render: async () => renderFamilies(await source()) };
}

/**
 * The primary's view of the workers: the latest families of each live worker, and the summed
 * counters and histograms of the workers gone.
 */
export class FleetMetrics {
  private retired: MetricFamily[] = [];
  private readonly latest = new Map<number, MetricFamily[]>();

  /** Keeps `families` as worker `worker`'s latest. */
  update(worker: number, families: MetricFamily[]): void {
    this.latest.set(worker, families);
  }

  /** A worker is gone: its last summed numbers stay in every later total; its per-process ones leave. */
  retire(worker: number): void {
    const last = this.latest.get(worker);
    if (last === undefined) return;
    this.latest.delete(worker);
    this.retired = combineFamilies(this.retired, last.filter((family) => !isPerProcess(family)));
  }

  /** Every family over the fleet: live workers in order of their number, then what retired workers left. */
  combined(): MetricFamily[] {
    const live = [...this.latest.entries()].sort(([a], [b]) => a - b).map(([worker, families]) => labelPerProcess(families, { worker: String(worker) }));
    return combineFamilies(...live, this.retired);
  }
}

/** How long the primary waits for a worker's families before it takes the ones it had. */
export const COLLECT_TIMEOUT_MS = 2000;
/** How long a worker waits for the primary's total before /metrics answers 503. */
export const SCRAPE_TIMEOUT_MS = 5000;

type FleetMessage =
  | { type: 'kiln:metrics:scrape'; id: number }
  | { type: 'kiln:metrics:collect'; id: number }
  | { type: 'kiln:metrics:families'; id: number; families: MetricFamily[] }
  | { type: 'kiln:metrics:combined'; id: number; families: MetricFamily[] };

function isMessage<T extends FleetMessage['type']>(message: unknown, type: T): message is Extract<FleetMessage, { type: T }> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type && typeof (message as { id?: unknown }).id === 'number';
}

/** In the primary: answers the workers' scrapes with the fleet's totals. Returns the view, for tests. */
export function serveFleetMetrics(cluster: Cluster, fleet = new FleetMetrics()): FleetMetrics {
  let nextId = 0;
  const rounds = new Map<number, (worker: number) => void>();
  const collect = (): Promise<void> =>
    new Promise((resolve) => {
      const id = ++nextId;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
      const waiting = new Set(workers.map((w) => w.id));
      const finish = () => {
        clearTimeout(timer);
        rounds.delete(id);
        resolve();
      };
      // A worker that does not answer in time counts with the families it gave last.
      const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
      rounds.set(id, (worker) => {
        waiting.delete(worker);
        if (waiting.size === 0) finish();
      });
      if (waiting.size === 0) finish();
      for (const w of workers) w.send({ type: 'kiln:metrics:collect', id } satisfies FleetMessage);
    });
  cluster.on('message', (worker, message: unknown) => {
    if (isMessage(message, 'kiln:metrics:families')) {
      fleet.update(worker.id, message.families);
      rounds.get(message.id)?.(worker.id);
    } else if (isMessage(message, 'kiln:metrics:scrape')) {
      const { id } = message;
      void collect().then(() => {
        if (worker.isConnected()) worker.send({ type: 'kiln:metrics:combined', id, families: fleet.combined() } satisfies FleetMessage);
      });
    }
  });
  cluster.on('exit', (worker) => {
    fleet.retire(worker.id);
    for (const answered of rounds.values()) answered(worker.id);
  });
  return fleet;
}

/** In a worker: gives the primary this worker's families when asked, and renders the fleet's totals for /metrics. */
export function workerExposition(source: FamilySource, channel: NodeJS.Process = process): MetricsExposition {
  let nextId = 0;
  const waiting = new Map<number, (families: MetricFamily[]) => void>();
  channel.on('message', (message: unknown) => {
    if (isMessage(message, 'kiln:metrics:collect')) {
      const { id } = message;
      void source().then((families) => channel.send?.({ type: 'kiln:metrics:families', id, families } satisfies FleetMessage));
    } else if (isMessage(message, 'kiln:metrics:combined')) {
      waiting.get(message.id)?.(message.families);
    }
  });
  return {
    render: () =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`the cluster primary did not answer within ${SCRAPE_TIMEOUT_MS} ms`));
        }, SCRAPE_TIMEOUT_MS);
        waiting.set(id, (families) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(renderFamilies(families));
        });
        channel.send?.({ type: 'kiln:metrics:scrape', id } satisfies FleetMessage);
      }),
  };
}
