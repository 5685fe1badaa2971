// Record lag per partition: how far the flow's committed position is behind the source's log end.
// It is read from the source cluster on a timer, independently of the data path, so a flow whose
// target is down shows its lag growing instead of frozen at the last value it wrote.
import { partitionKey, type TopicPartition } from './ports.ts';

/** The source offsets lag needs (implemented by kafka/topic-admin.ts). */
export interface OffsetCatalog {
  /** Per partition: `low` is the log-start offset, `high` the log-end offset (high watermark). */
  watermarks(topic: string): Promise<Array<{ partition: number; low: number; high: number }>>;
  /** The group's committed offsets of these topics (-1 where it has none). */
  committed(group: string, topics: readonly string[]): Promise<Array<TopicPartition & { offset: number }>>;
}

export interface PartitionLag extends TopicPartition {
  /** Log-end offset of the source partition. */
  readonly logEnd: number;
  /** Where the flow resumes: its committed offset, or where a new group starts. */
  readonly committed: number;
  /** `logEnd - committed`: records not yet replicated (and committed). */
  readonly lag: number;
}

/**
 * Lag of the partitions assigned to this instance. A partition the group never committed counts
 * from where the flow starts (`earliest`: the log start; `latest`: the log end).
 */
export async function measureLag(
  catalog: OffsetCatalog,
  group: string,
  startFrom: 'earliest' | 'latest',
  assigned: readonly TopicPartition[],
): Promise<PartitionLag[]> {
  if (assigned.length === 0) return [];
  const topics = [...new Set(assigned.map((p) => p.topic))];
  const [marks, commits] = await Promise.all([
    Promise.all(topics.map(async (topic) => [topic, await catalog.watermarks(topic)] as const)),
    catalog.committed(group, topics),
  ]);
  const byTopic = new Map(marks.map(([topic, list]) => [topic, new Map(list.map((m) => [m.partition, m]))]));
  const committed = new Map(commits.map((c) => [partitionKey(c.topic, c.partition), c.offset]));
  const out: PartitionLag[] = [];
  for (const { topic, partition } of assigned) {
    const mark = byTopic.get(topic)?.get(partition);
    if (mark === undefined) continue;
    const offset = committed.get(partitionKey(topic, partition)) ?? -1;
    const position = offset >= 0 ? offset : startFrom === 'earliest' ? mark.low : mark.high;
    out.push({
      topic,
      partition,
      logEnd: mark.high,
      committed: position,
      lag: Math.max(0, mark.high - position),
    });
  }
  return out;
}
