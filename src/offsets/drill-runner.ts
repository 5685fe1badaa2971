// The daemon's DR drills: per flow with `drill.intervalMs` > 0, a drill (drill.ts) on a timer, over
// connections of its own (never the flow's reader or writer: the data path is never blocked), one
// run at a time (a run still going when the timer fires is not doubled), with metrics, a log line
// per failing run naming what differed, and what /status shows.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { Drill, type DrillReport } from './drill.ts';

/** What /status shows of a flow's drills. */
export interface DrillStatus {
  readonly intervalMs: number;
  readonly groups: readonly string[];
  /** The last run's result (null: none finished yet). */
  readonly lastResult: 'pass' | 'fail' | 'error' | null;
  readonly lastRunAt: string | null;
  readonly lastSuccessAt: string | null;
  readonly mismatched: number;
  readonly rpoRecords: number | null;
  /** The partitions the last run failed, each with its reason (or the error of a run that could not finish). */
  readonly failing: ReadonlyArray<{ topic: string; partition: number; group: string | null; reason: string }>;
  readonly error: string | null;
}

export class DrillRunner {
  readonly #flow: FlowConfig;
  readonly #drill: Drill;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #closed: Promise<void> | undefined;
  #destroyed: Promise<void> | undefined;
  #status: Omit<DrillStatus, 'intervalMs' | 'groups'> = {
    lastResult: null,
    lastRunAt: null,
    lastSuccessAt: null,
    mismatched: 0,
    rpoRecords: null,
    failing: [],
    error: null,
  };

  constructor(
    config: Config,
    flow: FlowConfig,
    clients: { source: KafkaClient; target: KafkaClient },
    logger: Logger,
    metrics?: Metrics,
  ) {
    this.#flow = flow;
    this.#drill = new Drill(config, flow, clients);
    this.#logger = logger;
    this.#metrics = metrics;
  }

  async connect(): Promise<void> {
    await this.#drill.connect();
  }

  /** Drills every `drill.intervalMs`, the first run one interval after the start. */
  start(): void {
    const labels = { flow: this.#flow.name };
    for (const result of ['pass', 'fail', 'error']) this.#metrics?.drillRuns.inc({ ...labels, result }, 0);
    const pass = () => {
      if (this.#closed !== undefined || this.#destroyed !== undefined) return;
      this.#running ??= this.runOnce().finally(() => (this.#running = undefined));
    };
    this.#timer = setInterval(pass, this.#flow.drill.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer, waits for a run in progress, then closes the connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??=
      this.#destroyed ??
      (async () => {
        clearInterval(this.#timer);
        await this.#running;
        await this.destroy();
      })();
    return this.#closed;
  }

  /** Stops the timer and closes the connections at once: a run in progress fails (not counted). Idempotent. */
  destroy(): Promise<void> {
    clearInterval(this.#timer);
    this.#destroyed ??= this.#drill.close();
    return this.#destroyed;
  }

  status(): DrillStatus {
    return { intervalMs: this.#flow.drill.intervalMs, groups: this.#flow.drill.groups, ...this.#status };
  }

  /** One drill, its result counted and logged; never rejects. */
  async runOnce(): Promise<DrillReport | undefined> {
    const started = performance.now();
    const labels = { flow: this.#flow.name };
    const { groups, records } = this.#flow.drill;
    let report: DrillReport;
    try {
      report = await this.#drill.run({ groups, records });
    } catch (error) {
      if (this.#destroyed !== undefined) return undefined; // its connections were closed under it
      this.#metrics?.drillRuns.inc({ ...labels, result: 'error' });
      this.#metrics?.drillDuration.set(labels, (performance.now() - started) / 1000);
      // Once until a drill runs again: an unreachable cluster would repeat it at every interval.
      if (this.#status.error === null)
        this.#logger.warn({ err: error }, 'DR drill could not run; will try again at the next interval');
      this.#record('error', { error: String(error) });
      return undefined;
    }
    if (this.#status.error !== null) this.#logger.info('DR drill runs again');
    const result = report.result === 'inconclusive' ? 'error' : report.result;
    this.#metrics?.drillRuns.inc({ ...labels, result });
    this.#metrics?.drillMismatched.set(labels, report.mismatched);
    this.#metrics?.drillDuration.set(labels, report.durationMs / 1000);
    const failing = report.partitions
      .filter((p) => p.result === 'fail' || p.result === 'inconclusive')
      .map((p) => ({ topic: p.topic, partition: p.partition, group: p.group, reason: p.reason ?? '' }));
    if (result === 'pass') this.#metrics?.drillLastSuccess.set(labels, Date.now() / 1000);
    this.#record(result, { failing, mismatched: report.mismatched, rpoRecords: report.rpoRecords });
    if (report.result === 'fail') {
      const partitions = report.partitions
        .filter((p) => p.result === 'fail')
        .map((p) => ({
          topic: p.topic,
          partition: p.partition,
          group: p.group,
          reason: p.reason,
          mismatches: p.mismatches,
        }));
      this.#logger.warn(
        { mismatched: report.mismatched, partitions },
        'DR drill failed: the target differs from the source, or a position could not be translated',
      );
    } else if (report.result === 'inconclusive')
      this.#logger.warn({ failing }, 'DR drill inconclusive: nothing could be compared');
    return report;
  }

  #record(result: 'pass' | 'fail' | 'error', fields: Partial<DrillStatus>): void {
    const now = new Date().toISOString();
    this.#status = {
      ...this.#status,
      mismatched: 0,
      failing: [],
      error: null,
      ...fields,
      lastResult: result,
      lastRunAt: now,
      lastSuccessAt: result === 'pass' ? now : this.#status.lastSuccessAt,
    };
  }
}
