// Failback reconciliation (issue 23, deliverable 3). After a failover from a flow's source (the old
// primary) to its target, the old primary may hold records the target never got: per partition,
// those after the target's frontier (frontier.ts, the last source offset whose copy is there). They
// are copied to the target (interleaved after the writes it took meanwhile: the only order there
// can be), or to a quarantine topic (`toTopic`), with the flow's provenance headers so the reverse
// flow's loop guard never sends them back. Exactly once: transactions (per partition, in source
// order, up to TRANSACTION_RECORDS each) with the transactional id `<flow group>.reconcile` (a
// rerun fences and aborts what a crashed run left open) and read_committed reads of both sides,
// so a rerun computes the frontier from the target's committed copies and copies nothing twice. Then the flow's group on the source moves forward to
// what was read, so the flow, restarted, does not copy them again. docs/disaster-recovery.md,
// Reconciling after a failover.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../config/index.ts';
import { ReconcileRefusedError } from '../errors/index.ts';
import { producerHeaders } from '../kafka/kafkajs/index.ts';
import type { RawClient } from '../kafka/raw-client.ts';
import type { Logger } from '../observability/logger.ts';
import type { SourceRecord } from '../protocol/records.ts';
import { provenanceStamp, stampedHeaders, type Stamped } from '../replication/provenance.ts';
import { readCommittedRange } from './committed-range.ts';
import { refuseRunning } from './flow-running.ts';
import { lastReplicated } from './frontier.ts';
import { reverseStart, type ReverseStartReport } from './reverse-start.ts';
import {
  Translator,
  flowNamed,
  flowWithClients,
  type OffsetClients,
  type PartitionFrontier,
} from './translate.ts';

export interface ReconcileOptions {
  readonly flow: string;
  /** A quarantine topic on the target to write to instead of the flow's remote topics. */
  readonly toTopic?: string;
  /** A flow of the same config from the flow's target back to its source, to start after what the source holds. */
  readonly reverseFlow?: string;
  /** Report what would be copied and committed; write nothing. */
  readonly dryRun: boolean;
}

export interface ReconciledPartition {
  readonly topic: string;
  readonly partition: number;
  /** The target topic the records go to (the remote topic, or the quarantine topic). */
  readonly destination: string;
  /** The first source offset the target lacks (the frontier's next). */
  readonly from: number;
  /** First and last source offsets copied (null: none). */
  readonly first: number | null;
  readonly last: number | null;
  /** Records copied (or, in a dry run, that would be). */
  readonly records: number;
  /** Records the loop guard leaves out: the target cluster is already in their hops. */
  readonly loopGuarded: number;
  /** Timestamps of the first and last record copied (epoch ms; null: none). */
  readonly firstTimestamp: number | null;
  readonly lastTimestamp: number | null;
  /** Where the flow's group on the source is moved (null: it is there already, or a dry run). */
  readonly groupOffset: number | null;
}

export interface ReconcileReport {
  readonly flow: string;
  readonly dryRun: boolean;
  readonly transactionalId: string;
  readonly records: number;
  readonly partitions: readonly ReconciledPartition[];
  readonly reverse: ReverseStartReport | null;
}

/** One partition to reconcile: where its copies go and the source range to read. */
interface Planned {
  readonly frontier: PartitionFrontier;
  readonly destination: string;
  readonly from: number;
}

/** Records sent per produce request of a partition's transaction. */
const SEND_RECORDS = 500;
/**
 * Records per transaction: a partition's copies are committed in transactions of up to this many,
 * in source order, so a long backlog stays within the transaction timeout; a crash between two
 * leaves the frontier after the last committed one, where a rerun goes on.
 */
const TRANSACTION_RECORDS = 20_000;

/** Reconciles one flow (and, with `reverseFlow`, commits the reverse flow's start). */
export async function runReconcile(
  config: Config,
  logger: Logger,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const { flow, clients } = flowWithClients(config, logger, options.flow);
  const reverse = options.reverseFlow === undefined ? undefined : flowNamed(config, options.reverseFlow);
  if (flow.delivery === 'exactly-once' || reverse?.delivery === 'exactly-once')
    throw new ReconcileRefusedError(
      'exactly-once flows keep their positions on the target (transaction.positionsTopic), which reconcile does not move',
    );
  if (reverse !== undefined && (reverse.source !== flow.target || reverse.target !== flow.source))
    throw new ReconcileRefusedError(`flow ${reverse.name} is not ${flow.target} -> ${flow.source}`);
  const translator = new Translator(config, flow, clients);
  await translator.connect();
  try {
    const report = await reconcileWith(translator, flow, clients, options);
    const reversed =
      reverse === undefined
        ? null
        : await reverseStart(
            config,
            reverse,
            { source: clients.target, target: clients.source },
            options.dryRun,
          );
    return { ...report, reverse: reversed };
  } finally {
    await translator.close();
  }
}

async function reconcileWith(
  translator: Translator,
  flow: FlowConfig,
  kafka: { source: KafkaClient; target: KafkaClient },
  options: ReconcileOptions,
): Promise<Omit<ReconcileReport, 'reverse'>> {
  const clients = translator.clients;
  if (!options.dryRun) await refuseRunning(clients, flow);
  const planned = await plan(translator, flow, options.toTopic);
  const [sourceId, targetId] = await Promise.all([
    clients.sourceAdmin.clusterId(),
    clients.targetAdmin.clusterId(),
  ]);
  const transactionalId = `${flow.group}.reconcile`;
  const producer = options.dryRun
    ? undefined
    : kafka.target.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
  await producer?.connect();
  try {
    const partitions: ReconciledPartition[] = [];
    for (const p of planned) {
      const stamp = provenanceStamp({
        cluster: flow.source,
        topic: p.frontier.topic,
        partition: p.frontier.partition,
        sourceId,
        targetId,
      });
      const copied = await copyPartition(clients.source, p, stamp, producer);
      const groupOffset = options.dryRun ? null : await moveGroup(clients, flow, p.frontier, copied.end);
      const { end: _end, ...rest } = copied;
      partitions.push({ ...rest, groupOffset });
    }
    const records = partitions.reduce((n, p) => n + p.records, 0);
    return { flow: flow.name, dryRun: options.dryRun, transactionalId, records, partitions };
  } finally {
    await producer?.disconnect();
  }
}

/**
 * Every partition of the flow's source topics with the first source offset the target lacks.
 * With a quarantine topic, copies already there (an earlier run) count as well.
 */
async function plan(
  translator: Translator,
  flow: FlowConfig,
  toTopic: string | undefined,
): Promise<Planned[]> {
  const clients = translator.clients;
  const frontier = await translator.frontier();
  if (frontier.length === 0)
    throw new ReconcileRefusedError(`flow ${flow.name} selects no topic on ${flow.source}`);
  const missing = frontier.find((f) => !f.onTarget);
  if (missing !== undefined)
    throw new ReconcileRefusedError(
      `${missing.remoteTopic}/${missing.partition} does not exist on ${flow.target}`,
    );
  if (toTopic === undefined)
    return frontier.map((f) => ({ frontier: f, destination: f.remoteTopic, from: f.next }));
  const counts = await clients.targetAdmin.partitionCounts();
  const count = counts.get(toTopic);
  if (count === undefined)
    throw new ReconcileRefusedError(`topic ${toTopic} does not exist on ${flow.target}`);
  const marks = new Map((await clients.targetAdmin.watermarks(toTopic)).map((m) => [m.partition, m]));
  const planned: Planned[] = [];
  for (const f of frontier) {
    const mark = marks.get(f.partition);
    if (mark === undefined || count <= f.partition)
      throw new ReconcileRefusedError(
        `${toTopic} has ${count} partition(s); ${f.topic}/${f.partition} needs its own`,
      );
    const view = {
      client: clients.target,
      remoteTopic: toTopic,
      partition: f.partition,
      from: { cluster: flow.source, topic: f.topic, partition: f.partition },
      probes: 0,
    };
    const quarantined = await lastReplicated(view, mark);
    const from = Math.max(f.next, quarantined === undefined ? 0 : quarantined.sourceOffset + 1);
    planned.push({ frontier: f, destination: toTopic, from });
  }
  return planned;
}

interface Copied extends Omit<ReconciledPartition, 'groupOffset'> {
  /** Where reading stopped: the flow's group moves there. */
  readonly end: number;
}

type Producer = ReturnType<KafkaClient['producer']>;

/** Reads what the target lacks of one source partition and writes it in transactions (unless a dry run). */
async function copyPartition(
  source: RawClient,
  planned: Planned,
  stamp: (headers: SourceRecord['headers']) => Stamped | undefined,
  producer: Producer | undefined,
): Promise<Copied> {
  const { topic, partition } = planned.frontier;
  let records = 0;
  let loopGuarded = 0;
  let first: SourceRecord | undefined;
  let last: SourceRecord | undefined;
  let transaction = await producer?.transaction();
  let pending = 0;
  try {
    const end = await readCommittedRange(
      source,
      { topic, partition },
      { from: planned.from, end: planned.frontier.source.high },
      async (batch) => {
        const messages = batch.flatMap((r) => {
          const stamped = stamp(r.headers);
          if (stamped === undefined) return (loopGuarded++, []);
          first ??= r;
          last = r;
          const headers = producerHeaders(stampedHeaders(stamped, r.offset));
          return [{ partition, key: r.key, value: r.value, timestamp: r.timestamp, headers }];
        });
        records += messages.length;
        for (let i = 0; transaction !== undefined && i < messages.length; i += SEND_RECORDS)
          await transaction.send({
            topic: planned.destination,
            messages: messages.slice(i, i + SEND_RECORDS),
            acks: -1,
          });
        pending += messages.length;
        if (producer !== undefined && transaction !== undefined && pending >= TRANSACTION_RECORDS) {
          await transaction.commit();
          [transaction, pending] = [await producer.transaction(), 0];
        }
      },
    );
    await transaction?.commit(); // nothing sent: no EndTxn
    return summary(planned, { records, loopGuarded, first, last, end });
  } catch (error) {
    await transaction?.abort().catch(() => undefined);
    throw error;
  }
}

function summary(
  planned: Planned,
  copied: { records: number; loopGuarded: number; first?: SourceRecord; last?: SourceRecord; end: number },
): Copied {
  const { first, last } = copied;
  return {
    topic: planned.frontier.topic,
    partition: planned.frontier.partition,
    destination: planned.destination,
    from: planned.from,
    first: first === undefined ? null : Number(first.offset),
    last: last === undefined ? null : Number(last.offset),
    records: copied.records,
    loopGuarded: copied.loopGuarded,
    firstTimestamp: first === undefined ? null : Number(first.timestamp),
    lastTimestamp: last === undefined ? null : Number(last.timestamp),
    end: copied.end,
  };
}

/** Moves the flow's group forward to `end` on the source partition (never back); the offset committed, or null. */
async function moveGroup(
  clients: OffsetClients,
  flow: FlowConfig,
  frontier: PartitionFrontier,
  end: number,
): Promise<number | null> {
  const committed = (await clients.sourceAdmin.committed(flow.group, [frontier.topic])).find(
    (c) => c.topic === frontier.topic && c.partition === frontier.partition,
  );
  if (committed !== undefined && committed.offset >= end) return null;
  await clients.source.commitOffsets(flow.group, frontier.topic, [
    { partition: frontier.partition, offset: end },
  ]);
  return end;
}
