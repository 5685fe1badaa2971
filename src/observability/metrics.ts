// Every Prometheus metric of the daemon, defined once on one injected registry. docs/metrics.md
// documents each (a unit test compares both directions), and deploy/ dashboards and alerts use
// only these names. Hot paths take a FlowMetrics, whose label children are bound once per flow.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BatchHistogram, type HistogramSeries } from './batch-histogram.ts';

/** Flow states as exported by `kafka_mirror_flow_state` (`halted`: running with a halted partition). */
export const FLOW_STATES = ['starting', 'running', 'halted', 'draining', 'stopped'] as const;
export type ExportedFlowState = (typeof FLOW_STATES)[number];

/** Replication latency buckets, seconds: from a loopback hop to a backlog hours deep. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

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

  /** `defaultMetrics`: prom-client's process and Node.js runtime metrics (off in unit tests). */
  constructor(options: { registry?: Registry; version?: string; defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = options.registry ?? new Registry())];
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
    this.info = new Gauge({
      name: 'kafka_mirror_info',
      help: 'Always 1; the version label says which kafka-mirror runs.',
      labelNames: ['version'],
      registers,
    });
    this.info.set({ version: options.version ?? 'unknown' }, 1);
    this.records = new Counter({
      name: 'kafka_mirror_records_total',
      help: 'Records written to the target and acknowledged, by source topic.',
      labelNames: ['flow', 'topic'],
      registers,
    });
    this.bytes = new Counter({
      name: 'kafka_mirror_bytes_total',
      help: 'Bytes of key, value and headers written to the target and acknowledged (before compression), by source topic.',
      labelNames: ['flow', 'topic'],
      registers,
    });
    this.skipped = new Counter({
      name: 'kafka_mirror_records_skipped_total',
      help: "Records read and deliberately not written (committed past), by reason: loop = the target cluster already has the record; replayed = exactly-once, the target's committed position is already past it.",
      labelNames: ['flow', 'topic', 'reason'],
      registers,
    });
    this.topicsExcluded = new Gauge({
      name: 'kafka_mirror_topics_excluded',
      help: 'Source topics not replicated, by reason: filter = include/exclude or internal topic; policy = named after the target (a remote topic of the target cluster).',
      labelNames: ['flow', 'reason'],
      registers,
    });
    this.lagRecords = new Gauge({
      name: 'kafka_mirror_lag_records',
      help: "Source log-end offset minus the flow's committed offset, per partition assigned to this instance.",
      labelNames: ['flow', 'topic', 'partition'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'kafka_mirror_lag_seconds',
      help: 'Age (from its source timestamp) of the oldest record fetched and not yet acknowledged by the target; 0 when none is pending.',
      labelNames: ['flow'],
      registers,
    });
    this.lagRefreshed = new Gauge({
      name: 'kafka_mirror_lag_refreshed_timestamp_seconds',
      help: 'When kafka_mirror_lag_records was last refreshed from the source (Unix time); stale when the source is unreachable.',
      labelNames: ['flow'],
      registers,
    });
    this.latency = new BatchHistogram({
      name: 'kafka_mirror_replication_latency_seconds',
      help: 'Target acknowledgement time minus the source record timestamp, per record; kind = data (user records) or heartbeat.',
      labelNames: ['flow', 'kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.heartbeats = new Counter({
      name: 'kafka_mirror_heartbeats_sent_total',
      help: "Heartbeat records written to the flow's source cluster.",
      labelNames: ['flow'],
      registers,
    });
    this.queueRecords = new Gauge({
      name: 'kafka_mirror_queue_records',
      help: 'Records in the queue between source and target.',
      labelNames: ['flow'],
      registers,
    });
    this.queueBytes = new Gauge({
      name: 'kafka_mirror_queue_bytes',
      help: 'Memory budget used by the queue: its chunks of encoded records, plus 12 bytes per record and 4 KiB per chunk.',
      labelNames: ['flow'],
      registers,
    });
    this.queueMaxRecords = new Gauge({
      name: 'kafka_mirror_queue_max_records',
      help: 'The queue record limit (queue.maxRecords).',
      labelNames: ['flow'],
      registers,
    });
    this.queueMaxBytes = new Gauge({
      name: 'kafka_mirror_queue_max_bytes',
      help: 'The queue byte budget (queue.maxBytes).',
      labelNames: ['flow'],
      registers,
    });
    this.groupSyncs = new Counter({
      name: 'kafka_mirror_group_offset_syncs_total',
      help: 'Group offset sync passes over one consumer group, by outcome: synced (offsets committed on the target), current (nothing to move forward), active (the group has members on the target: not touched), failed.',
      labelNames: ['flow', 'outcome'],
      registers,
    });
    this.groupSyncGroups = new Gauge({
      name: 'kafka_mirror_group_offset_sync_groups',
      help: 'Consumer groups of the source selected for group offset sync in the last pass.',
      labelNames: ['flow'],
      registers,
    });
    this.groupSyncedGroups = new Gauge({
      name: 'kafka_mirror_group_offset_synced_groups',
      help: 'Of the selected groups, those whose offsets on the target were current after the last pass (outcome synced or current).',
      labelNames: ['flow'],
      registers,
    });
    this.groupTranslationLag = new Gauge({
      name: 'kafka_mirror_group_offset_translation_lag_records',
      help: "Records the group has consumed on the source that are not on the target yet, so its target offsets cannot cover them (summed over its partitions): what a failover now would lose from the group's view.",
      labelNames: ['flow', 'group'],
      registers,
    });
    this.groupSynced = new Gauge({
      name: 'kafka_mirror_group_offset_synced_timestamp_seconds',
      help: "When the group's offsets on the target were last found current or moved forward (Unix time).",
      labelNames: ['flow', 'group'],
      registers,
    });
    this.errors = new Counter({
      name: 'kafka_mirror_errors_total',
      help: 'Errors from Kafka, by side (source or target) and code (the Kafka error name, or the client error class for network errors).',
      labelNames: ['flow', 'side', 'code'],
      registers,
    });
    this.retries = new Counter({
      name: 'kafka_mirror_retries_total',
      help: 'Produce requests retried after a retriable error.',
      labelNames: ['flow'],
      registers,
    });
    this.produceRetries = new Counter({
      name: 'kafka_mirror_produce_retries_total',
      help: "Produce requests sent to the target again, by reason: Kafka's error name of the answer (OUT_OF_ORDER_SEQUENCE_NUMBER, NOT_LEADER_OR_FOLLOWER, MESSAGE_TOO_LARGE for a split) or the client error without one.",
      labelNames: ['flow', 'reason'],
      registers,
    });
    this.rebalances = new Counter({
      name: 'kafka_mirror_rebalances_total',
      help: 'Times this instance (re)joined the source consumer group.',
      labelNames: ['flow'],
      registers,
    });
    this.transactions = new Counter({
      name: 'kafka_mirror_transactions_total',
      help: 'Exactly-once flows: transactions on the target by result: committed, aborted (a failed write; the partition is restored and read again), fenced (another instance or a newer epoch took the partition over).',
      labelNames: ['flow', 'result'],
      registers,
    });
    this.laneRestores = new Counter({
      name: 'kafka_mirror_partition_restores_total',
      help: 'Exactly-once flows: source partitions taken over on the target (earlier owners fenced, position read, source seeked), by reason: assigned (a group join) or failed (a transaction of the partition failed).',
      labelNames: ['flow', 'reason'],
      registers,
    });
    this.assigned = new Gauge({
      name: 'kafka_mirror_assigned_partitions',
      help: 'Source partitions assigned to this instance.',
      labelNames: ['flow'],
      registers,
    });
    this.halted = new Gauge({
      name: 'kafka_mirror_halted_partitions',
      help: 'Partitions halted because the target refused a record; nothing past it is committed.',
      labelNames: ['flow'],
      registers,
    });
    this.state = new Gauge({
      name: 'kafka_mirror_flow_state',
      help: `1 for the flow's current state, 0 for the others (${FLOW_STATES.join(', ')}).`,
      labelNames: ['flow', 'state'],
      registers,
    });
    this.ready = new Gauge({
      name: 'kafka_mirror_flow_ready',
      help: '1 when the flow is running, assigned, has no halted partition and its target acknowledges writes; as /readyz.',
      labelNames: ['flow'],
      registers,
    });
  }

  /** The children of one flow, bound once. */
  flow(name: string): FlowMetrics {
    return new FlowMetrics(this, name);
  }
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

  laneRestore(reason: 'assigned' | 'failed'): void {
    this.#metrics.laneRestores.inc({ flow: this.#flow, reason });
  }

  heartbeatSent(): void {
    this.#metrics.heartbeats.inc({ flow: this.#flow });
  }

  state(current: ExportedFlowState): void {
    for (const state of FLOW_STATES)
      this.#metrics.state.set({ flow: this.#flow, state }, state === current ? 1 : 0);
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
