// `kafka-mirror verify`: audits what a flow replicated. For every source partition of the flow's
// topics, the records from the log start (or the first at `since`) up to the flow's committed
// offset (everything the flow claims as replicated) are compared with the target partition
// through the provenance headers: missing, duplicated, reordered or altered records, and copies
// of records of aborted source transactions. Reads only; commits nothing.
import type { Kafka as KafkaClient } from 'kafkajs';
import PQueue from 'p-queue';
import type { Config, FlowConfig } from '../config/index.ts';
import { InternalInvariantError, NotFoundError } from '../errors/index.ts';
import { createClient } from '../kafka/client.ts';
import { connectAll } from '../kafka/connect-all.ts';
import { readPartition } from '../kafka/partition-reader.ts';
import { TopicAdmin } from '../kafka/topic-admin.ts';
import type { Logger } from '../observability/logger.ts';
import { auditPartition, type AuditRecord, type PartitionAudit } from '../replication/audit.ts';
import { flowTopicFilter, remoteTopicOf } from '../replication/topic-selection.ts';

export interface VerifyOptions {
  readonly flow?: string;
  readonly topic?: string;
  /** Only source records from the first offset whose timestamp is at or after this (epoch ms). */
  readonly since?: number;
  /** Partitions audited at once (each needs two consumers). */
  readonly concurrency?: number;
  /** How long a partition read waits for records that may not come (a range ending in markers). */
  readonly idleMs?: number;
}

export interface TopicAudit {
  readonly flow: string;
  readonly topic: string;
  readonly remoteTopic: string;
  readonly partitions: PartitionAudit[];
}

export interface VerifyReport {
  readonly topics: TopicAudit[];
  readonly totals: Record<
    | 'checked'
    | 'replicated'
    | 'skipped'
    | 'missing'
    | 'duplicated'
    | 'reordered'
    | 'altered'
    | 'aborted'
    | 'unknown',
    number
  >;
  /** No record missing, reordered or altered, and none of an aborted transaction on the target. */
  readonly ok: boolean;
}

/** The counts of a report, in the order they are shown. */
export const COUNTS = [
  'checked',
  'replicated',
  'skipped',
  'missing',
  'duplicated',
  'reordered',
  'altered',
  'aborted',
  'unknown',
] as const;

async function* nothing(): AsyncGenerator<AuditRecord> {}

/** What auditing a topic of a flow needs, read once for the flow. */
interface FlowScan {
  readonly flow: FlowConfig;
  readonly clients: { readonly source: KafkaClient; readonly target: KafkaClient };
  readonly admins: { readonly source: TopicAdmin; readonly target: TopicAdmin };
  readonly options: VerifyOptions;
  readonly targetId: string;
  /** The target's topics with their partition counts. */
  readonly targetTopics: ReadonlyMap<string, number>;
  /** The flow's committed offset per source partition (`topic/partition`). */
  readonly committed: ReadonlyMap<string, number>;
}

type Watermarks = { partition: number; low: number; high: number };

async function verifyFlow(
  config: Config,
  flow: FlowConfig,
  clients: { source: KafkaClient; target: KafkaClient },
  options: VerifyOptions,
): Promise<TopicAudit[]> {
  const sourceAdmin = new TopicAdmin(clients.source);
  const targetAdmin = new TopicAdmin(clients.target);
  await connectAll([sourceAdmin, targetAdmin]);
  try {
    const targetId = await targetAdmin.clusterId();
    const selected = flowTopicFilter(flow);
    const [sourceTopics, targetTopics] = await Promise.all([
      sourceAdmin.partitionCounts(),
      targetAdmin.partitionCounts(),
    ]);
    const topics = [...sourceTopics.keys()]
      .filter((t) => (options.topic === undefined ? selected(t) : t === options.topic))
      .sort();
    if (options.topic !== undefined && topics.length === 0)
      throw new NotFoundError(`topic ${options.topic} on ${flow.source}`);
    const committed = new Map(
      (await sourceAdmin.committed(flow.group, topics)).map((c) => [`${c.topic}/${c.partition}`, c.offset]),
    );
    const admins = { source: sourceAdmin, target: targetAdmin };
    const scan: FlowScan = { flow, clients, admins, options, targetId, targetTopics, committed };
    const aliases = Object.keys(config.clusters);
    const audits: TopicAudit[] = [];
    for (const topic of topics)
      audits.push(await auditTopic(scan, topic, remoteTopicOf(flow, topic, aliases)));
    return audits;
  } finally {
    await Promise.allSettled([sourceAdmin.close(), targetAdmin.close()]);
  }
}

/** Every partition of one source topic audited against its target partition, `concurrency` at a time. */
async function auditTopic(scan: FlowScan, topic: string, remoteTopic: string): Promise<TopicAudit> {
  const { admins, options } = scan;
  const sourceMarks = (await admins.source.watermarks(topic)).sort((a, b) => a.partition - b.partition);
  const targetMarks = scan.targetTopics.has(remoteTopic) ? await admins.target.watermarks(remoteTopic) : [];
  const since =
    options.since === undefined
      ? new Map<number, number>()
      : await admins.source.offsetsAt(topic, options.since);
  const limit = new PQueue({ concurrency: options.concurrency ?? 4 });
  const partitions = await limit.addAll(
    sourceMarks.map(
      (mark) => () =>
        auditOnePartition(
          scan,
          { topic, remoteTopic, since },
          mark,
          targetMarks.find((m) => m.partition === mark.partition),
        ),
    ),
  );
  return { flow: scan.flow.name, topic, remoteTopic, partitions };
}

/**
 * One source partition, from its log start (or the first offset at `since`) to the flow's
 * committed offset, against the whole of its target partition (none when the target lacks it).
 */
async function auditOnePartition(
  { flow, clients, options, targetId, committed }: FlowScan,
  { topic, remoteTopic, since }: { topic: string; remoteTopic: string; since: ReadonlyMap<number, number> },
  mark: Watermarks,
  onTarget: Watermarks | undefined,
): Promise<PartitionAudit> {
  const from = Math.max(mark.low, since.get(mark.partition) ?? mark.low);
  const to = Math.max(from, committed.get(`${topic}/${mark.partition}`) ?? -1);
  const scope = { cluster: flow.source, topic, partition: mark.partition, targetId, from, to };
  return auditPartition(
    scope,
    readPartition(clients.source, { topic, partition: mark.partition, from, to }, options.idleMs, {
      aborted: true,
    }),
    onTarget === undefined
      ? nothing()
      : readPartition(
          clients.target,
          { topic: remoteTopic, partition: mark.partition, from: onTarget.low, to: onTarget.high },
          options.idleMs,
        ),
  );
}

export async function verify(
  config: Config,
  logger: Logger,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const flows = config.flows.filter((f) => options.flow === undefined || f.name === options.flow);
  if (flows.length === 0) throw new NotFoundError(`flow named ${options.flow ?? ''}`);
  const clients = new Map<string, KafkaClient>();
  const clientOf = (alias: string) => {
    let kafka = clients.get(alias);
    const cluster = config.clusters[alias];
    if (kafka === undefined && cluster !== undefined) {
      kafka = createClient(cluster, logger, config.producer.requestTimeoutMs);
      clients.set(alias, kafka);
    }
    if (kafka === undefined) throw new InternalInvariantError(`the validated config has no cluster ${alias}`);
    return kafka;
  };
  const topics: TopicAudit[] = [];
  for (const flow of flows) {
    topics.push(
      ...(await verifyFlow(
        config,
        flow,
        { source: clientOf(flow.source), target: clientOf(flow.target) },
        options,
      )),
    );
  }
  const totals = Object.fromEntries(COUNTS.map((k) => [k, 0])) as VerifyReport['totals'];
  for (const topic of topics) for (const p of topic.partitions) for (const k of COUNTS) totals[k] += p[k];
  const ok = totals.missing === 0 && totals.reordered === 0 && totals.altered === 0 && totals.aborted === 0;
  return { topics, totals, ok };
}
