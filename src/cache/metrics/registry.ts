/**
 * Counters and histograms in the Prometheus text exposition format (0.0.4), written by hand.
 *
 * A series is bound once to its labels (`series(labels)`) and then counted through the handle,
 * so a hot path (every cache operation, every request) builds no label key: the handle holds its
 * entry. A handle registers its series on first use, so binding one shows nothing until counted.
 */

/** Label names to values; a metric is always given the same names in the same order. */
export type Labels = Readonly<Record<string, string>>;

/** A counter series bound to its labels. */
export interface CounterSeries {
  inc(by?: number): void;
}

/** A histogram series bound to its labels. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** One series of a counter as plain data (for another process to add up). */
export interface CounterSnapshot {
  labels: Labels;
  value: number;
}

/** One series of a histogram as plain data; `counts` are cumulative, one per upper bound. */
export interface HistogramSnapshot {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

/** Escapes a label value as the exposition format requires (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{name="value",…}`, or nothing without labels. */
export function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** The `# HELP` and `# TYPE` lines of a family. */
export function header(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** Tells series apart within one metric by their label values in order (names are always the same). */
function seriesKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${labels[name]}\u0000`;
  return key;
}

interface CounterEntry {
  readonly labels: Labels;
  value: number;
}

/** A monotonically increasing count per label set. */
export class Counter {
  private readonly entries = new Map<string, CounterEntry>();

  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  /** A handle on the series with these labels. */
  series(labels: Labels): CounterSeries {
    const key = seriesKey(labels);
    let entry: CounterEntry | undefined;
    return {
      inc: (by = 1) => {
        entry ??= this.entry(key, labels);
        entry.value += by;
      },
    };
  }

  /** Adds to the series with these labels (for labels too varied to bind ahead). */
  inc(labels: Labels, by = 1): void {
    this.entry(seriesKey(labels), labels).value += by;
  }

  private entry(key: string, labels: Labels): CounterEntry {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { labels, value: 0 };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** The series counted so far, in the order they were first counted. */
  snapshot(): CounterSnapshot[] {
    return Array.from(this.entries.values(), ({ labels, value }) => ({ labels, value }));
  }

  /** The family as plain data (see `MetricFamily`). */
  family(): { type: 'counter'; name: string; help: string; series: CounterSnapshot[] } {
    return { type: 'counter', name: this.name, help: this.help, series: this.snapshot() };
  }

  /** The family in the exposition format. */
  render(): string {
    let out = header(this.name, 'counter', this.help);
    for (const { labels, value } of this.entries.values()) out += `${this.name}${labelText(labels)} ${value}\n`;
    return out;
  }
}

interface HistogramEntry {
  readonly labels: Labels;
  /** Observations per bucket, not cumulative (the last slot is above every bound). */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into buckets by upper bound, per label set. */
export class Histogram {
  private readonly entries = new Map<string, HistogramEntry>();

  constructor(
    readonly name: string,
    private readonly help: string,
    /** Upper bounds, ascending. */
    private readonly buckets: readonly number[],
  ) {}

  /** A handle on the series with these labels. */
  series(labels: Labels): HistogramSeries {
    const key = seriesKey(labels);
    let entry: HistogramEntry | undefined;
    return {
      observe: (value) => {
        entry ??= this.entry(key, labels);
        this.record(entry, value);
      },
    };
  }

  /** Observes a value in the series with these labels (for labels too varied to bind ahead). */
  observe(labels: Labels, value: number): void {
    this.record(this.entry(seriesKey(labels), labels), value);
  }

  private entry(key: string, labels: Labels): HistogramEntry {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.entries.set(key, entry);
    }
    return entry;
  }

  // One bucket is counted per observation; render() adds them up into Prometheus's cumulative form.
  private record(entry: HistogramEntry, value: number): void {
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i += 1;
    entry.counts[i] += 1;
    entry.sum += value;
    entry.count += 1;
  }

  /** The series observed so far, in the order they were first observed. */
  snapshot(): HistogramSnapshot[] {
    return Array.from(this.entries.values(), ({ labels, counts, sum, count }) => ({ labels, counts: cumulative(counts, this.buckets.length), sum, count }));
  }

  /** The family as plain data (see `MetricFamily`). */
  family(): { type: 'histogram'; name: string; help: string; buckets: number[]; series: HistogramSnapshot[] } {
    return { type: 'histogram', name: this.name, help: this.help, buckets: [...this.buckets], series: this.snapshot() };
  }

  /** The family in the exposition format. */
  render(): string {
    let out = header(this.name, 'histogram', this.help);
    for (const { labels, counts, sum, count } of this.entries.values()) {
      const upTo = cumulative(counts, this.buckets.length);
      this.buckets.forEach((le, i) => (out += `${this.name}_bucket${labelText({ ...labels, le: String(le) })} ${upTo[i]}\n`));
      out += `${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${sum}\n${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return out;
  }
}

/** Running totals of the first `length` counts. */
function cumulative(counts: readonly number[], length: number): number[] {
  const out: number[] = [];
  let total = 0;
  for (let i = 0; i < length; i += 1) out.push((total += counts[i]));
  return out;
}
