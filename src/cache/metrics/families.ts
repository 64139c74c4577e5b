import { header, labelText, type CounterSnapshot, type HistogramSnapshot, type Labels } from './registry.ts';

/** One sample of a gauge. */
export interface GaugeSample {
  labels: Labels;
  value: number;
}

/**
 * A metric family as plain data, so another process can add it up (structured-clone safe).
 * `perProcess` marks a family that means something per process only (a gauge such as the heap,
 * or a process's CPU seconds): across workers it is kept per worker, never summed.
 */
export type MetricFamily =
  | { type: 'counter'; name: string; help: string; perProcess?: boolean; series: CounterSnapshot[] }
  | { type: 'gauge'; name: string; help: string; perProcess?: boolean; series: GaugeSample[] }
  | { type: 'histogram'; name: string; help: string; perProcess?: boolean; buckets: number[]; series: HistogramSnapshot[] };

/** Whether a family is kept per process when processes are combined (every gauge, and families marked so). */
export function isPerProcess(family: MetricFamily): boolean {
  return family.type === 'gauge' || family.perProcess === true;
}

/** The families in the Prometheus text exposition format (0.0.4), in order. */
export function renderFamilies(families: readonly MetricFamily[]): string {
  let out = '';
  for (const family of families) out += renderFamily(family);
  return out;
}

function renderFamily(family: MetricFamily): string {
  const { name } = family;
  let out = header(name, family.type, family.help);
  if (family.type !== 'histogram') {
    for (const { labels, value } of family.series) out += `${name}${labelText(labels)} ${value}\n`;
    return out;
  }
  for (const { labels, counts, sum, count } of family.series) {
    family.buckets.forEach((le, i) => (out += `${name}_bucket${labelText({ ...labels, le: String(le) })} ${counts[i]}\n`));
    out += `${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}\n`;
    out += `${name}_sum${labelText(labels)} ${sum}\n${name}_count${labelText(labels)} ${count}\n`;
  }
  return out;
}

/** The families with `labels` added to every series of the per-process ones (e.g. `{ worker: '2' }`). */
export function labelPerProcess(families: readonly MetricFamily[], labels: Labels): MetricFamily[] {
  return families.map((family): MetricFamily => {
    if (!isPerProcess(family)) return family;
    const series = (family.series as readonly Sample[]).map((s) => ({ ...s, labels: { ...s.labels, ...labels } }));
    return { ...family, series } as MetricFamily;
  });
}

/** The families of several processes as one: counters and histograms summed series by series, per-process families side by side. */
export function combineFamilies(...sets: ReadonlyArray<readonly MetricFamily[]>): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const set of sets) {
    for (const family of set) byName.set(family.name, combined(byName.get(family.name) ?? { ...family, series: [] }, family));
  }
  return [...byName.values()];
}

type Sample = CounterSnapshot | GaugeSample | HistogramSnapshot;

const keyOf = (labels: Labels): string => JSON.stringify(Object.entries(labels));

/** `into` with `add`'s series: summed where the labels match and the family is summed, else set side by side. */
function combined(into: MetricFamily, add: MetricFamily): MetricFamily {
  if (into.type !== add.type) throw new TypeError(`metric ${into.name} is a ${into.type} in one process and a ${add.type} in another`);
  if (into.type === 'histogram' && add.type === 'histogram' && into.buckets.join() !== add.buckets.join()) {
    throw new TypeError(`metric ${into.name} has other buckets in another process`);
  }
  const sum = !isPerProcess(into);
  const series = new Map<string, Sample>(into.series.map((s: Sample) => [keyOf(s.labels), s]));
  for (const s of add.series as readonly Sample[]) {
    const key = keyOf(s.labels);
    const found = series.get(key);
    series.set(key, found !== undefined && sum ? added(found, s) : s);
  }
  return { ...into, series: [...series.values()] } as MetricFamily;
}

function added(a: Sample, b: Sample): Sample {
  if ('counts' in a && 'counts' in b) return { labels: a.labels, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum, count: a.count + b.count };
  if ('value' in a && 'value' in b) return { labels: a.labels, value: a.value + b.value };
  return a;
}
