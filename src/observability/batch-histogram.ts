// A Prometheus histogram for the hot path. prom-client's Histogram builds a label object and a
// hash string on every observe(); at 100,000 records per second that garbage alone costs CPU and
// tens of MiB of heap headroom. Here each label set is bound once to a series of plain numbers,
// and an observation is a bucket search and three additions. It registers on a prom-client
// registry as a custom metric (`get()` in prom-client's format), so exposition is unchanged.
import type { Registry } from 'prom-client';

export class HistogramSeries {
  readonly #bounds: readonly number[];
  /** Per bucket, not cumulative; the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class BatchHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Record<L, string>; series: HistogramSeries }>();

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly L[];
    buckets: readonly number[];
    registers: readonly Registry[];
  }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series of one label set, created on first use; keep it for the hot path. */
  series(labels: Record<L, string>): HistogramSeries {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let entry = this.#series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, series: new HistogramSeries(this.#bounds) };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  /** prom-client's metric format: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, series } of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push({
          labels: { ...labels, le: bound },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push(
        { labels: { ...labels, le: '+Inf' }, value: series.count, metricName: `${this.name}_bucket` },
        { labels: { ...labels }, value: series.sum, metricName: `${this.name}_sum` },
        { labels: { ...labels }, value: series.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Removes the series whose labels match (a flow that no longer runs). */
  removeSeries(match: (labels: Record<L, string>) => boolean): void {
    for (const [key, { labels }] of this.#series) if (match(labels)) this.#series.delete(key);
  }

  reset(): void {
    this.#series.clear();
  }
}
