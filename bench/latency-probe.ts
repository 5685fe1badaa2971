// End-to-end replication latency under steady load: a consumer on the target topic compares each
// record's CreateTime (set by the producer on the source, and kept by both replicators) with the
// time it is consumed. Same consumer, same settings, for every system.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from 'kafkajs';
import { kafkajs } from '../src/kafka/kafkajs/index.ts';

const { Kafka, logLevel } = kafkajs;

export interface LatencySummary {
  readonly records: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Seconds from the first to the last measured record consumed. */
  readonly seconds: number;
  /** Share of the machine's CPU (all processes) busy from the start of measurement to now. */
  readonly machineBusyPct: number | null;
}

/** The value at quantile `q` of sorted values (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface TimelineRow {
  readonly second: number;
  readonly records: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Share of the machine's CPU time spent busy during this second; null when not sampled. */
  readonly cpuBusyPct: number | null;
}

/** The machine's busy and total CPU ticks since boot (first line of /proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const ticks = (/^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '')
    .split(/\s+/)
    .map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}

/** Percent of CPU time busy between two readings of machineCpu(); null without two distinct readings. */
function busyPct(
  from: { busy: number; total: number } | undefined,
  to: { busy: number; total: number } | undefined,
): number | null {
  if (from === undefined || to === undefined || to.total === from.total) return null;
  return Math.round((100 * (to.busy - from.busy)) / (to.total - from.total));
}

export class LatencyProbe {
  readonly #consumer: Consumer;
  #seen = 0;
  /** Records with CreateTime >= this (epoch ms) are measured; earlier ones (warm-up) only counted. */
  #measureFrom = Number.POSITIVE_INFINITY;
  readonly #latencies: number[] = [];
  /** Epoch ms at which each measured record was consumed (same index as #latencies). */
  readonly #consumedAt: number[] = [];
  /** Machine CPU counters once a second while measuring, for the timeline. */
  readonly #cpu: { at: number; busy: number; total: number }[] = [];
  #cpuSampler: NodeJS.Timeout | undefined;
  #firstAt = 0;
  #lastAt = 0;
  #crashed: unknown;

  private constructor(consumer: Consumer) {
    this.#consumer = consumer;
  }

  /** Joins a fresh group on `topic` from the beginning and starts consuming. */
  static async start(bootstrapServers: readonly string[], topic: string): Promise<LatencyProbe> {
    const consumer = new Kafka({
      clientId: 'kafka-mirror-bench-latency',
      brokers: [...bootstrapServers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
    }).consumer({
      groupId: `bench-latency-${topic}-${Date.now()}`,
      sessionTimeout: 10_000,
      // With traffic a fetch returns at once; the wait only bounds the idle case.
      maxWaitTimeInMs: 100,
    });
    const probe = new LatencyProbe(consumer);
    await consumer.connect();
    consumer.on(consumer.events.CRASH, (event) => (probe.#crashed = event.payload.error));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) {
          probe.#seen++;
          const createTime = Number(message.timestamp);
          if (createTime < probe.#measureFrom) continue;
          if (probe.#latencies.length === 0) probe.#firstAt = now;
          probe.#lastAt = now;
          probe.#latencies.push(now - createTime);
          probe.#consumedAt.push(now);
        }
      },
    });
    return probe;
  }

  /** Waits until `count` records in all have been consumed. */
  async waitForSeen(count: number, timeoutMs: number): Promise<void> {
    await this.#waitFor(
      () => this.#seen >= count,
      timeoutMs,
      () => `${this.#seen} of ${count} records consumed`,
    );
  }

  /** From now on, records created at or after `epochMs` are measured. */
  measureFrom(epochMs: number): void {
    this.#measureFrom = epochMs;
    this.#cpu.push({ at: Date.now(), ...machineCpu() });
    this.#cpuSampler = setInterval(() => this.#cpu.push({ at: Date.now(), ...machineCpu() }), 1000);
    this.#cpuSampler.unref();
  }

  /** Waits until `count` measured records have been consumed. */
  async waitForMeasured(count: number, timeoutMs: number): Promise<void> {
    await this.#waitFor(
      () => this.#latencies.length >= count,
      timeoutMs,
      () => `${this.#latencies.length} of ${count} steady records consumed`,
    );
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.#latencies).sort();
    return {
      records: sorted.length,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      maxMs: sorted.length === 0 ? NaN : (sorted[sorted.length - 1] as number),
      seconds: (this.#lastAt - this.#firstAt) / 1000,
      machineBusyPct: this.#busySince(),
    };
  }

  #busySince(): number | null {
    return busyPct(this.#cpu[0], machineCpu());
  }

  /**
   * Second by second from the first measured record: records consumed, their latency quantiles,
   * and how busy the machine's CPUs were (all processes; 100 = every core busy). Shows whether
   * latency comes from a start-up burst, a steady lag or a saturated machine.
   */
  timeline(): TimelineRow[] {
    const rows: TimelineRow[] = [];
    if (this.#latencies.length === 0) return rows;
    const start = this.#consumedAt[0] as number;
    const seconds = Math.floor(((this.#consumedAt.at(-1) as number) - start) / 1000) + 1;
    const buckets: number[][] = Array.from({ length: seconds }, () => []);
    this.#latencies.forEach((ms, i) =>
      buckets[Math.floor(((this.#consumedAt[i] as number) - start) / 1000)]?.push(ms),
    );
    buckets.forEach((bucket, second) => {
      const sorted = Float64Array.from(bucket).sort();
      const from = start + second * 1000;
      const before = this.#cpu.findLast((c) => c.at <= from);
      const after = this.#cpu.find((c) => c.at >= from + 1000);
      const busy = busyPct(before, after);
      rows.push({
        second,
        records: sorted.length,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        maxMs: sorted.length === 0 ? NaN : (sorted[sorted.length - 1] as number),
        cpuBusyPct: busy,
      });
    });
    return rows;
  }

  async stop(): Promise<void> {
    clearInterval(this.#cpuSampler);
    await this.#consumer.disconnect().catch(() => undefined);
  }

  async #waitFor(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.#crashed !== undefined) throw new Error(`latency consumer crashed: ${String(this.#crashed)}`);
      if (Date.now() > deadline)
        throw new Error(`latency probe: only ${describe()} after ${timeoutMs / 1000} s`);
      await sleep(20);
    }
  }
}
