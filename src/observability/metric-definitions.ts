// The definition of every Prometheus metric of the daemon (name, help, labels, buckets), in groups
// that Metrics registers in this order, the order of the exposition. docs/metrics.md documents each.
import { Counter, Gauge, type Registry } from 'prom-client';
import { BatchHistogram } from './batch-histogram.ts';

/**
 * Flow states as exported by `kafka_mirror_flow_state` (`halted`: running with a halted partition;
 * `paused`: an operator paused its fetching, POST /control/).
 */
export const FLOW_STATES = ['starting', 'running', 'halted', 'paused', 'draining', 'stopped'] as const;
export type ExportedFlowState = (typeof FLOW_STATES)[number];

/** Replication latency buckets, seconds: from a loopback hop to a backlog hours deep. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export type Registers = Registry[];

/** Always 1, labelled with the running version. */
export function infoMetric(registers: Registers, version: string): Gauge<'version'> {
  const info = new Gauge({
    name: 'kafka_mirror_info',
    help: 'Always 1; the version label says which kafka-mirror runs.',
    labelNames: ['version'],
    registers,
  });
  info.set({ version }, 1);
  return info;
}

/** What a flow copies: records and bytes acknowledged, records skipped, topics left out. */
export function throughputMetrics(registers: Registers) {
  return {
    records: new Counter({
      name: 'kafka_mirror_records_total',
      help: 'Records written to the target and acknowledged, by source topic.',
      labelNames: ['flow', 'topic'],
      registers,
    }),
    bytes: new Counter({
      name: 'kafka_mirror_bytes_total',
      help: 'Bytes of key, value and headers written to the target and acknowledged (before compression), by source topic.',
      labelNames: ['flow', 'topic'],
      registers,
    }),
    skipped: new Counter({
      name: 'kafka_mirror_records_skipped_total',
      help: "Records read and deliberately not written (committed past), by reason: loop = the target cluster already has the record; replayed = exactly-once, the target's committed position is already past it.",
      labelNames: ['flow', 'topic', 'reason'],
      registers,
    }),
    topicsExcluded: new Gauge({
      name: 'kafka_mirror_topics_excluded',
      help: 'Source topics not replicated, by reason: filter = include/exclude or internal topic; policy = named after the target (a remote topic of the target cluster).',
      labelNames: ['flow', 'reason'],
      registers,
    }),
  };
}

/** How far behind the source a flow is, and the heartbeats that keep its latency fresh. */
export function lagMetrics(registers: Registers) {
  return {
    lagRecords: new Gauge({
      name: 'kafka_mirror_lag_records',
      help: "Source log-end offset minus the flow's committed offset, per partition assigned to this instance.",
      labelNames: ['flow', 'topic', 'partition'],
      registers,
    }),
    lagSeconds: new Gauge({
      name: 'kafka_mirror_lag_seconds',
      help: 'Age (from its source timestamp) of the oldest record fetched and not yet acknowledged by the target; 0 when none is pending.',
      labelNames: ['flow'],
      registers,
    }),
    lagRefreshed: new Gauge({
      name: 'kafka_mirror_lag_refreshed_timestamp_seconds',
      help: 'When kafka_mirror_lag_records was last refreshed from the source (Unix time); stale when the source is unreachable.',
      labelNames: ['flow'],
      registers,
    }),
    rpoRecords: new Gauge({
      name: 'kafka_mirror_rpo_records',
      help: "Source offsets a failover would lose now: the source's end at the last lag refresh minus the flow's acknowledged position, summed over partitions. As of the last lag refresh: short by up to one metrics.lagIntervalMs of writes, long by transaction markers and aborted records.",
      labelNames: ['flow'],
      registers,
    }),
    rpoSeconds: new Gauge({
      name: 'kafka_mirror_rpo_seconds',
      help: "Seconds of source writes a failover would lose now: since the last lag refresh at which the target had every partition's end (or the oldest record fetched and not acknowledged, when older); 0 when nothing is at risk. As of the last lag refresh.",
      labelNames: ['flow'],
      registers,
    }),
    latency: new BatchHistogram({
      name: 'kafka_mirror_replication_latency_seconds',
      help: 'Target acknowledgement time minus the source record timestamp, per record; kind = data (user records) or heartbeat.',
      labelNames: ['flow', 'kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    heartbeats: new Counter({
      name: 'kafka_mirror_heartbeats_sent_total',
      help: "Heartbeat records written to the flow's source cluster.",
      labelNames: ['flow'],
      registers,
    }),
  };
}

/** The queue between source and target: what it holds and its limits. */
export function queueMetrics(registers: Registers) {
  return {
    queueRecords: new Gauge({
      name: 'kafka_mirror_queue_records',
      help: 'Records in the queue between source and target.',
      labelNames: ['flow'],
      registers,
    }),
    queueBytes: new Gauge({
      name: 'kafka_mirror_queue_bytes',
      help: 'Memory budget used by the queue: its chunks of encoded records, plus 12 bytes per record and 4 KiB per chunk.',
      labelNames: ['flow'],
      registers,
    }),
    queueMaxRecords: new Gauge({
      name: 'kafka_mirror_queue_max_records',
      help: 'The queue record limit (queue.maxRecords).',
      labelNames: ['flow'],
      registers,
    }),
    queueMaxBytes: new Gauge({
      name: 'kafka_mirror_queue_max_bytes',
      help: 'The queue byte budget (queue.maxBytes).',
      labelNames: ['flow'],
      registers,
    }),
  };
}

/** Group offset sync: its passes, the groups it covers and how current each one's target offsets are. */
export function groupSyncMetrics(registers: Registers) {
  return {
    groupSyncs: new Counter({
      name: 'kafka_mirror_group_offset_syncs_total',
      help: 'Group offset sync passes over one consumer group, by outcome: synced (offsets committed on the target), current (nothing to move forward), active (the group has members on the target: not touched), failed.',
      labelNames: ['flow', 'outcome'],
      registers,
    }),
    groupSyncGroups: new Gauge({
      name: 'kafka_mirror_group_offset_sync_groups',
      help: 'Consumer groups of the source selected for group offset sync in the last pass.',
      labelNames: ['flow'],
      registers,
    }),
    groupSyncedGroups: new Gauge({
      name: 'kafka_mirror_group_offset_synced_groups',
      help: 'Of the selected groups, those whose offsets on the target were current after the last pass (outcome synced or current).',
      labelNames: ['flow'],
      registers,
    }),
    groupTranslationLag: new Gauge({
      name: 'kafka_mirror_group_offset_translation_lag_records',
      help: "Records the group has consumed on the source that are not on the target yet, so its target offsets cannot cover them (summed over its partitions): what a failover now would lose from the group's view.",
      labelNames: ['flow', 'group'],
      registers,
    }),
    groupSynced: new Gauge({
      name: 'kafka_mirror_group_offset_synced_timestamp_seconds',
      help: "When the group's offsets on the target were last found current or moved forward (Unix time).",
      labelNames: ['flow', 'group'],
      registers,
    }),
  };
}

/** Errors from Kafka and the produce requests sent again. */
export function errorMetrics(registers: Registers) {
  return {
    errors: new Counter({
      name: 'kafka_mirror_errors_total',
      help: 'Errors from Kafka, by side (source or target) and code (the Kafka error name, or the client error class for network errors).',
      labelNames: ['flow', 'side', 'code'],
      registers,
    }),
    retries: new Counter({
      name: 'kafka_mirror_retries_total',
      help: 'Produce requests retried after a retriable error.',
      labelNames: ['flow'],
      registers,
    }),
    produceRetries: new Counter({
      name: 'kafka_mirror_produce_retries_total',
      help: "Produce requests sent to the target again, by reason: Kafka's error name of the answer (OUT_OF_ORDER_SEQUENCE_NUMBER, NOT_LEADER_OR_FOLLOWER, MESSAGE_TOO_LARGE for a split) or the client error without one.",
      labelNames: ['flow', 'reason'],
      registers,
    }),
  };
}

/** The source partitions of this instance: group joins, exactly-once transactions and take-overs, how many are assigned and halted. */
export function partitionMetrics(registers: Registers) {
  return {
    rebalances: new Counter({
      name: 'kafka_mirror_rebalances_total',
      help: 'Times this instance (re)joined the source consumer group.',
      labelNames: ['flow'],
      registers,
    }),
    transactions: new Counter({
      name: 'kafka_mirror_transactions_total',
      help: 'Exactly-once flows: transactions on the target by result: committed, aborted (a failed write; the partition is restored and read again), fenced (another instance or a newer epoch took the partition over).',
      labelNames: ['flow', 'result'],
      registers,
    }),
    laneRestores: new Counter({
      name: 'kafka_mirror_partition_restores_total',
      help: 'Exactly-once flows: source partitions taken over on the target (earlier owners fenced, position read, source seeked), by reason: assigned (a group join), failed (a transaction of the partition failed) or resumed (an operator resumed the halted partition, POST /control/).',
      labelNames: ['flow', 'reason'],
      registers,
    }),
    assigned: new Gauge({
      name: 'kafka_mirror_assigned_partitions',
      help: 'Source partitions assigned to this instance.',
      labelNames: ['flow'],
      registers,
    }),
    halted: new Gauge({
      name: 'kafka_mirror_halted_partitions',
      help: 'Partitions halted because the target refused a record; nothing past it is committed.',
      labelNames: ['flow'],
      registers,
    }),
  };
}

/** Each flow's state and readiness. */
export function flowStateMetrics(registers: Registers) {
  return {
    state: new Gauge({
      name: 'kafka_mirror_flow_state',
      help: `1 for the flow's current state, 0 for the others (${FLOW_STATES.join(', ')}).`,
      labelNames: ['flow', 'state'],
      registers,
    }),
    ready: new Gauge({
      name: 'kafka_mirror_flow_ready',
      help: '1 when the flow is running, assigned, has no halted partition and its target acknowledges writes; as /readyz.',
      labelNames: ['flow'],
      registers,
    }),
  };
}

/** Topic configuration sync of each flow (flow key topicConfigSync; docs/operations.md). */
export function topicConfigSyncMetrics(registers: Registers) {
  return {
    topicConfigSyncs: new Counter({
      name: 'kafka_mirror_topic_config_syncs_total',
      help: "Topic config changes (one per config of a remote topic) sent by topic config sync, by result: applied (the target took it) or refused (the target refused the topic's changes; asked again at every refresh).",
      labelNames: ['flow', 'result'],
      registers,
    }),
    topicConfigSyncRefusedTopics: new Gauge({
      name: 'kafka_mirror_topic_config_sync_refused_topics',
      help: 'Remote topics whose config changes the target refused at the last refresh (policy, authorization, invalid config); /status lists them under the flow.',
      labelNames: ['flow'],
      registers,
    }),
  };
}

/** Topic ACL sync (`aclSync.enabled`): ACLs created on the target, refusals reported. */
export function aclSyncMetrics(registers: Registers) {
  return {
    aclSyncs: new Counter({
      name: 'kafka_mirror_acl_syncs_total',
      help: 'Topic ACL sync: ACL bindings created on the target (result created), and refusals by a cluster (result refused: counted once per refusal, not per retry).',
      labelNames: ['flow', 'result'],
      registers,
    }),
  };
}

/** Config reloads (SIGHUP, `kafka-mirror reload`): each one's result, and whether the last one worked. */
export function reloadMetrics(registers: Registers) {
  const metrics = {
    configReloads: new Counter({
      name: 'kafka_mirror_config_reloads_total',
      help: 'Config reloads by result: applied (the new config runs), invalid (the file was refused; nothing changed), failed (valid, but a step of applying it failed: the log line says which).',
      labelNames: ['result'],
      registers,
    }),
    configLastReloadSuccessful: new Gauge({
      name: 'kafka_mirror_config_last_reload_successful',
      help: '1 when the last config reload was applied (or none was tried since start), 0 when it was invalid or failed.',
      registers,
    }),
  };
  // Every result exported from the start (at 0), and no reload tried yet counts as a success.
  for (const result of ['applied', 'invalid', 'failed']) metrics.configReloads.inc({ result }, 0);
  metrics.configLastReloadSuccessful.set(1);
  return metrics;
}

/** Requests to the admin server's /control/ endpoints (control-endpoint.ts). */
export function controlMetrics(registers: Registers) {
  return {
    controlRequests: new Counter({
      name: 'kafka_mirror_control_requests_total',
      help: 'Requests to /control/ by action (pause, resume, resume-partitions, log-level, refresh, unknown), result (ok, bad_request, unauthorized, disabled, not_found, conflict, failed) and caller (the name of its token; unknown when not authenticated).',
      labelNames: ['action', 'result', 'caller'],
      registers,
    }),
  };
}

/** DR drills (src/offsets/drill-runner.ts): their runs, results and how long they take. */
export function drillMetrics(registers: Registers) {
  return {
    drillRuns: new Counter({
      name: 'kafka_mirror_drill_runs_total',
      help: 'DR drills run, by result: pass (records compared, none differed or was missing), fail (a record differed or was missing on the target, or a position could not be translated), error (the drill could not run, or found nothing it could compare).',
      labelNames: ['flow', 'result'],
      registers,
    }),
    drillLastSuccess: new Gauge({
      name: 'kafka_mirror_drill_last_success_timestamp_seconds',
      help: 'When a DR drill of the flow last passed (Unix time).',
      labelNames: ['flow'],
      registers,
    }),
    drillMismatched: new Gauge({
      name: 'kafka_mirror_drill_mismatched_records',
      help: 'Records the last DR drill found different from their source record or missing on the target (positions not translated included).',
      labelNames: ['flow'],
      registers,
    }),
    drillDuration: new Gauge({
      name: 'kafka_mirror_drill_duration_seconds',
      help: 'How long the last DR drill took, translation included.',
      labelNames: ['flow'],
      registers,
    }),
  };
}
