// Every Prometheus metric of the daemon, defined once (metric-definitions.ts) on one injected
// registry. docs/metrics.md documents each (a unit test compares both directions), and deploy/
// dashboards and alerts use only these names. Hot paths take a FlowMetrics, whose label children
// are bound once per flow.
import { type Counter, type Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchHistogram, HistogramSeries } from './batch-histogram.ts';
import {
  FLOW_STATES,
  controlMetrics,
  drillMetrics,
  errorMetrics,
  flowStateMetrics,
  aclSyncMetrics,
  groupSyncMetrics,
  infoMetric,
  lagMetrics,
  partitionMetrics,
  queueMetrics,
  reloadMetrics,
  throughputMetrics,
  topicConfigSyncMetrics,
  type ExportedFlowState,
} from './metric-definitions.ts';

export { FLOW_STATES, type ExportedFlowState } from './metric-definitions.ts';

export class Metrics {
  readonly registry: Registry;
  readonly info: Gauge<'version'>;
  readonly records: Counter<'flow' | 'topic'>;
  readonly bytes: Counter<'flow' | 'topic'>;
  readonly skipped: Counter<'flow' | 'topic' | 'reason'>;
  readonly topicsExcluded: Gauge<'flow' | 'reason'>;
  readonly lagRecords: Gauge<'flow' | 'topic' | 'partition'>;
  readonly lagSeconds: Gauge<'flow'>;
  readonly lagRefreshed: Gauge<'flow'>;
  readonly rpoRecords: Gauge<'flow'>;
  readonly rpoSeconds: Gauge<'flow'>;
  readonly latency: BatchHistogram<'flow' | 'kind'>;
  readonly heartbeats: Counter<'flow'>;
  readonly queueRecords: Gauge<'flow'>;
  readonly queueBytes: Gauge<'flow'>;
  readonly queueMaxRecords: Gauge<'flow'>;
  readonly queueMaxBytes: Gauge<'flow'>;
  readonly errors: Counter<'flow' | 'side' | 'code'>;
  readonly retries: Counter<'flow'>;
  readonly produceRetries: Counter<'flow' | 'reason'>;
  readonly rebalances: Counter<'flow'>;
  readonly transactions: Counter<'flow' | 'result'>;
  readonly laneRestores: Counter<'flow' | 'reason'>;
  readonly assigned: Gauge<'flow'>;
  readonly halted: Gauge<'flow'>;
  readonly state: Gauge<'flow' | 'state'>;
  readonly ready: Gauge<'flow'>;
  readonly groupSyncs: Counter<'flow' | 'outcome'>;
  readonly groupSyncGroups: Gauge<'flow'>;
  readonly groupSyncedGroups: Gauge<'flow'>;
  readonly groupTranslationLag: Gauge<'flow' | 'group'>;
  readonly groupSynced: Gauge<'flow' | 'group'>;
  readonly topicConfigSyncs: Counter<'flow' | 'result'>;
  readonly topicConfigSyncRefusedTopics: Gauge<'flow'>;
  readonly aclSyncs: Counter<'flow' | 'result'>;
  readonly configReloads: Counter<'result'>;
  readonly configLastReloadSuccessful: Gauge;
  readonly controlRequests: Counter<'action' | 'result' | 'caller'>;
  readonly drillRuns: Counter<'flow' | 'result'>;
  readonly drillLastSuccess: Gauge<'flow'>;
  readonly drillMismatched: Gauge<'flow'>;
  readonly drillDuration: Gauge<'flow'>;

  /** `defaultMetrics`: prom-client's process and Node.js runtime metrics (off in unit tests). */
  constructor(options: { registry?: Registry; version?: string; defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
    // Registered in this order, which is the order of the exposition.
    this.info = infoMetric(registers, options.version ?? 'unknown');
    ({
      records: this.records,
      bytes: this.bytes,
      skipped: this.skipped,
      topicsExcluded: this.topicsExcluded,
    } = throughputMetrics(registers));
    ({
      lagRecords: this.lagRecords,
      lagSeconds: this.lagSeconds,
      lagRefreshed: this.lagRefreshed,
      rpoRecords: this.rpoRecords,
      rpoSeconds: this.rpoSeconds,
      latency: this.latency,
      heartbeats: this.heartbeats,
    } = lagMetrics(registers));
    ({
      queueRecords: this.queueRecords,
      queueBytes: this.queueBytes,
      queueMaxRecords: this.queueMaxRecords,
      queueMaxBytes: this.queueMaxBytes,
    } = queueMetrics(registers));
    ({
      groupSyncs: this.groupSyncs,
      groupSyncGroups: this.groupSyncGroups,
      groupSyncedGroups: this.groupSyncedGroups,
      groupTranslationLag: this.groupTranslationLag,
      groupSynced: this.groupSynced,
    } = groupSyncMetrics(registers));
    ({
      errors: this.errors,
      retries: this.retries,
      produceRetries: this.produceRetries,
    } = errorMetrics(registers));
    ({
      rebalances: this.rebalances,
      transactions: this.transactions,
      laneRestores: this.laneRestores,
      assigned: this.assigned,
      halted: this.halted,
    } = partitionMetrics(registers));
    ({ state: this.state, ready: this.ready } = flowStateMetrics(registers));
    ({
      topicConfigSyncs: this.topicConfigSyncs,
      topicConfigSyncRefusedTopics: this.topicConfigSyncRefusedTopics,
    } = topicConfigSyncMetrics(registers));
    ({ aclSyncs: this.aclSyncs } = aclSyncMetrics(registers));
    ({ controlRequests: this.controlRequests } = controlMetrics(registers));
    ({
      drillRuns: this.drillRuns,
      drillLastSuccess: this.drillLastSuccess,
      drillMismatched: this.drillMismatched,
      drillDuration: this.drillDuration,
    } = drillMetrics(registers));
    ({ configReloads: this.configReloads, configLastReloadSuccessful: this.configLastReloadSuccessful } =
      reloadMetrics(registers));
  }

  /** A config reload's result: counted, and whether it worked. */
  reloaded(result: 'applied' | 'invalid' | 'failed'): void {
    this.configReloads.inc({ result });
    this.configLastReloadSuccessful.set(result === 'applied' ? 1 : 0);
  }

  /**
   * Removes every series labelled with this flow (a flow removed by a reload), so no dashboard or
   * alert reads the last values of a flow that no longer runs. `only`: just these metrics (names).
   */
  async removeFlow(flow: string, only?: readonly string[]): Promise<void> {
    const names = only === undefined ? undefined : new Set(only);
    for (const metric of this.registry.getMetricsAsArray() as unknown as FlowLabelled[]) {
      if (!metric.labelNames?.includes('flow') || (names !== undefined && !names.has(metric.name))) continue;
      if (metric.removeSeries !== undefined) {
        metric.removeSeries((labels) => labels['flow'] === flow);
        continue;
      }
      const { values } = await metric.get();
      for (const { labels } of values) if (labels['flow'] === flow) metric.remove?.(labels);
    }
  }

  /** The children of one flow, bound once. */
  flow(name: string): FlowMetrics {
    return new FlowMetrics(this, name);
  }
}

/** What removeFlow needs of a metric: prom-client's, or a BatchHistogram. */
interface FlowLabelled {
  readonly name: string;
  readonly labelNames?: readonly string[];
  get(): Promise<{ values: Array<{ labels: Record<string, string | number> }> }>;
  remove?(labels: Record<string, string | number>): void;
  removeSeries?(match: (labels: Record<string, string>) => boolean): void;
}

/** One flow's view of the metrics: what the data path, the writer and the reader record. */
export class FlowMetrics {
  readonly #metrics: Metrics;
  readonly #flow: string;
  readonly #latency: { data: HistogramSeries; heartbeat: HistogramSeries };
  readonly #perTopic = new Map<string, { records: Counter.Internal; bytes: Counter.Internal }>();

  constructor(metrics: Metrics, flow: string) {
    this.#metrics = metrics;
    this.#flow = flow;
    this.#latency = {
      data: metrics.latency.series({ flow, kind: 'data' }),
      heartbeat: metrics.latency.series({ flow, kind: 'heartbeat' }),
    };
    metrics.retries.inc({ flow }, 0);
    metrics.rebalances.inc({ flow }, 0);
    this.state('starting');
  }

  get name(): string {
    return this.#flow;
  }

  /** Records of one source topic acknowledged by the target, by their source timestamps (epoch ms). */
  writtenAt(kind: 'data' | 'heartbeat', topic: string, timestamps: Float64Array, bytes: number): void {
    const now = Date.now();
    const histogram = this.#latency[kind];
    for (const timestamp of timestamps) histogram.observe(Math.max(0, now - timestamp) / 1000);
    this.#counted(kind, topic, timestamps.length, bytes);
  }

  #counted(kind: 'data' | 'heartbeat', topic: string, records: number, bytes: number): void {
    if (kind === 'heartbeat') return;
    let counters = this.#perTopic.get(topic);
    if (counters === undefined) {
      counters = {
        records: this.#metrics.records.labels({ flow: this.#flow, topic }),
        bytes: this.#metrics.bytes.labels({ flow: this.#flow, topic }),
      };
      this.#perTopic.set(topic, counters);
    }
    counters.records.inc(records);
    counters.bytes.inc(bytes);
  }

  skipped(topic: string, reason: 'loop' | 'replayed', count: number): void {
    this.#metrics.skipped.inc({ flow: this.#flow, topic, reason }, count);
  }

  excluded(topics: { filter: number; policy: number }): void {
    for (const [reason, count] of Object.entries(topics))
      this.#metrics.topicsExcluded.set({ flow: this.#flow, reason }, count);
  }

  error(side: 'source' | 'target', code: string): void {
    this.#metrics.errors.inc({ flow: this.#flow, side, code });
  }

  retried(): void {
    this.#metrics.retries.inc({ flow: this.#flow });
  }

  /** A produce request sent again (produce-errors.ts resendReason says why). */
  produceRetried(reason: string): void {
    this.#metrics.produceRetries.inc({ flow: this.#flow, reason });
  }

  rebalanced(assigned: number): void {
    this.#metrics.rebalances.inc({ flow: this.#flow });
    this.#metrics.assigned.set({ flow: this.#flow }, assigned);
  }

  transaction(result: 'committed' | 'aborted' | 'fenced'): void {
    this.#metrics.transactions.inc({ flow: this.#flow, result });
  }

  laneRestore(reason: 'assigned' | 'failed' | 'resumed'): void {
    this.#metrics.laneRestores.inc({ flow: this.#flow, reason });
  }

  heartbeatSent(): void {
    this.#metrics.heartbeats.inc({ flow: this.#flow });
  }

  /** Topic ACL sync: `count` bindings created, or one refusal reported. */
  aclSynced(result: 'created' | 'refused', count: number): void {
    this.#metrics.aclSyncs.inc({ flow: this.#flow, result }, count);
  }

  state(current: ExportedFlowState): void {
    for (const state of FLOW_STATES)
      this.#metrics.state.set({ flow: this.#flow, state }, state === current ? 1 : 0);
  }

  /** Topic config changes the target applied or refused (config-sync.ts). */
  topicConfigSyncs(result: 'applied' | 'refused', changes: number): void {
    this.#metrics.topicConfigSyncs.inc({ flow: this.#flow, result }, changes);
  }

  topicConfigSyncRefusedTopics(count: number): void {
    this.#metrics.topicConfigSyncRefusedTopics.set({ flow: this.#flow }, count);
  }
}

/**
 * The `code` label of kafka_mirror_errors_total: Kafka's error name when a protocol error is in the
 * cause chain (`NOT_LEADER_FOR_PARTITION`; kafkajs wraps retried errors, and some protocol errors
 * are subclasses such as KafkaJSOffsetOutOfRange), else the KM_* code of a kafka-mirror error,
 * else the innermost error's class (`KafkaJSConnectionError`). Reads only names, never messages.
 */
export function errorCode(error: unknown): string {
  type Link = { name?: unknown; type?: unknown; code?: unknown; cause?: unknown } | null;
  let current = error as Link;
  let km: string | undefined;
  let innermost: Link = current;
  for (let depth = 0; depth < 10 && current !== null && typeof current === 'object'; depth++) {
    if (
      typeof current.name === 'string' &&
      current.name.startsWith('KafkaJS') &&
      typeof current.type === 'string'
    )
      return current.type;
    if (km === undefined && typeof current.code === 'string' && current.code.startsWith('KM_'))
      km = current.code;
    innermost = current;
    if (current.cause === current) break;
    current = current.cause as Link;
  }
  if (km !== undefined) return km;
  return typeof innermost?.name === 'string' ? innermost.name : 'unknown';
}
