// The reverse flow's start at failback (issue 23, deliverable 3): after a failover from `us` to
// `asia` and reconciliation, the reverse flow `asia -> us` must start, per asia partition, at the
// first record written on asia itself (not a copy: provenance) that us does not hold a copy of.
// Everything before it on asia is either on us already (the reverse flow's frontier on us,
// frontier.ts) or a copy of a us record (the loop guard would drop it anyway), so failback copies
// every new record once and nothing twice. Its group's offsets are committed on asia without
// joining the group (RawClient.commitOffsets, as `kafka-consumer-groups --reset-offsets` does);
// offsets already committed there that differ are never overwritten (KM_REVERSE_START_CONFLICT).
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../config/index.ts';
import { ReverseStartConflictError } from '../errors/index.ts';
import type { SourceRecord } from '../protocol/records.ts';
import { provenanceStamp, type Stamped } from '../replication/provenance.ts';
import { readCommittedRange } from './committed-range.ts';
import { refuseRunning } from './flow-running.ts';
import { Translator, type PartitionFrontier } from './translate.ts';

/** What to do with one partition of the reverse flow's group. */
export type ReverseDecision =
  | { readonly action: 'commit'; readonly offset: number }
  | { readonly action: 'unchanged'; readonly offset: number }
  | { readonly action: 'conflict'; readonly committed: number; readonly computed: number };

export interface ReverseStartPartition {
  readonly topic: string;
  readonly partition: number;
  /** The first record the reverse flow must copy (or the partition's end when there is none yet). */
  readonly start: number;
  /** The group's committed offset before (null: none). */
  readonly committed: number | null;
  /** `commit` (written, or would be in a dry run), `unchanged` (already there). */
  readonly action: 'commit' | 'unchanged';
}

export interface ReverseStartReport {
  readonly flow: string;
  readonly group: string;
  readonly dryRun: boolean;
  readonly partitions: readonly ReverseStartPartition[];
}

/**
 * The decision for one partition: commit the computed start when the group has no offset there
 * (a negative offset is Kafka's "none"), nothing when it has exactly that one, a conflict otherwise.
 */
export function decideReverseStart(committed: number | undefined, computed: number): ReverseDecision {
  if (committed === undefined || committed < 0) return { action: 'commit', offset: computed };
  if (committed === computed) return { action: 'unchanged', offset: computed };
  return { action: 'conflict', committed, computed };
}

/** The first record the reverse flow would write (its loop guard lets it through), or undefined. */
export function firstToSend(
  records: readonly SourceRecord[],
  stamp: (headers: SourceRecord['headers']) => Stamped | undefined,
): SourceRecord | undefined {
  return records.find((r) => stamp(r.headers) !== undefined);
}

/** Computes (and unless `dryRun`, commits) the reverse flow's start on every partition. */
export async function reverseStart(
  config: Config,
  reverse: FlowConfig,
  kafka: { source: KafkaClient; target: KafkaClient },
  dryRun: boolean,
): Promise<ReverseStartReport> {
  const translator = new Translator(config, reverse, kafka);
  await translator.connect();
  try {
    const clients = translator.clients;
    if (!dryRun) await refuseRunning(clients, reverse);
    const [sourceId, targetId] = await Promise.all([
      clients.sourceAdmin.clusterId(),
      clients.targetAdmin.clusterId(),
    ]);
    const decided = await decideAll(translator, reverse, { sourceId, targetId });
    const conflicts = decided.flatMap(({ f, decision: d }) =>
      d.action === 'conflict'
        ? [{ topic: f.topic, partition: f.partition, committed: d.committed, computed: d.computed }]
        : [],
    );
    if (conflicts.length > 0) throw new ReverseStartConflictError(reverse.group, conflicts);
    const partitions = decided.map(({ f, before, decision }) => ({
      topic: f.topic,
      partition: f.partition,
      start: decision.action === 'conflict' ? decision.computed : decision.offset,
      committed: before === undefined || before < 0 ? null : before,
      action: decision.action === 'unchanged' ? ('unchanged' as const) : ('commit' as const),
    }));
    for (const p of partitions) {
      if (!dryRun && p.action === 'commit')
        await clients.source.commitOffsets(reverse.group, p.topic, [
          { partition: p.partition, offset: p.start },
        ]);
    }
    return { flow: reverse.name, group: reverse.group, dryRun, partitions };
  } finally {
    await translator.close();
  }
}

type Decided = { f: PartitionFrontier; before: number | undefined; decision: ReverseDecision };

/** Every partition of the reverse flow's source topics with its computed start and the decision. */
async function decideAll(
  translator: Translator,
  reverse: FlowConfig,
  ids: { readonly sourceId: string; readonly targetId: string },
): Promise<Decided[]> {
  const clients = translator.clients;
  const frontier = await translator.frontier();
  const topics = [...new Set(frontier.map((f) => f.topic))];
  const committed = new Map(
    (topics.length === 0 ? [] : await clients.sourceAdmin.committed(reverse.group, topics)).map((c) => [
      `${c.topic}/${c.partition}`,
      c.offset,
    ]),
  );
  const decided: Decided[] = [];
  for (const f of frontier) {
    const stamp = provenanceStamp({
      cluster: reverse.source,
      topic: f.topic,
      partition: f.partition,
      ...ids,
    });
    const start = await startOf(translator, f, stamp);
    const before = committed.get(`${f.topic}/${f.partition}`);
    decided.push({ f, before, decision: decideReverseStart(before, start) });
  }
  return decided;
}

/** The first record at or after the reverse flow's frontier that its loop guard lets through, or the end. */
async function startOf(
  translator: Translator,
  f: PartitionFrontier,
  stamp: (headers: SourceRecord['headers']) => Stamped | undefined,
): Promise<number> {
  let found: SourceRecord | undefined;
  const end = await readCommittedRange(
    translator.clients.source,
    { topic: f.topic, partition: f.partition },
    { from: f.next, end: f.source.high },
    (records) => {
      found = firstToSend(records, stamp);
      return Promise.resolve(found === undefined);
    },
  );
  return found === undefined ? end : Number(found.offset);
}
