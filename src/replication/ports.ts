// The replication core's ports: what a flow needs of its source and its target, and the names of
// a source partition and its position. Adapters in src/kafka implement them; the core imports no
// Kafka code.
import type { RecordChunk } from '../protocol/record-chunk.ts';
import type { SourceBatch } from '../protocol/records.ts';

/** A partition of the source, as assigned to this instance by the consumer group. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** The key of a partition in maps and sets: topic and partition, joined by a character no topic name has. */
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The partition a partitionKey names. */
export function fromPartitionKey(key: string): TopicPartition {
  const at = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** The source side as the flow sees it (kafka/source-reader.ts). */
export interface FlowSource {
  /** Topics currently consumed. */
  readonly topics: readonly string[];
  setTopics(topics: readonly string[], restart?: boolean): Promise<void>;
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /** Fetching of the partition goes on from `offset` (exactly-once restore). */
  seek(topic: string, partition: number, offset: number): void;
  /**
   * Stops fetching every partition while the consumer stays in its group (so it can still commit;
   * no rebalance), also across later joins, until resumeAll.
   */
  pauseAll(): void;
  /** Fetching goes on where it stopped, except for partitions paused one by one. */
  resumeAll(): void;
  /**
   * Commits the offsets to the flow's group. Resolves with those the group coordinator
   * acknowledged: none when the consumer is not in its group (stopped, restarting); rejects when
   * the commit failed.
   */
  commit(offsets: ReadonlyArray<SourceOffset>): Promise<ReadonlyArray<SourceOffset>>;
  /** Stops fetching (the consumer leaves its group); resolves once no batch is being handed over. */
  stopFetching(): Promise<void>;
}

/** A batch as the reader fetched it (kafka/source-reader.ts). */
export interface FetchedBatch extends SourceBatch {
  /**
   * Where the fetch goes on from: past its last complete record batch, whose records may all be
   * passed over (a transaction marker, records of an aborted transaction, a batch emptied by
   * compaction). Undefined: just past the last record.
   */
  readonly nextOffset?: number;
}

/** An offset to commit for a source partition: the next record to read. */
export interface SourceOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Where a source partition's replication stands: every record before `next` is written. */
export interface SourcePosition {
  readonly topic: string;
  readonly partition: number;
  readonly next: number;
}

/**
 * The target side. At least once (kafka/writers/target-writer.ts, kafka/writers/idempotent-writer.ts): `write`
 * resolves once every record is acknowledged; it is called for a lane's chunks in their order, and
 * awaits `throttle` (the flow's bandwidth cap) before sending. Exactly once
 * (kafka/writers/transactional-writer.ts): it resolves once they are sent in the lane's open transaction,
 * with `committed` settling when that transaction does.
 */
export interface FlowTarget {
  readonly delivery: 'at-least-once';
  write(
    topic: string,
    partition: number,
    records: RecordChunk,
    source: SourcePosition,
    throttle?: () => Promise<void>,
  ): Promise<void>;
}

/** An exactly-once target: it owns the source positions, and a lane must be acquired before it is written. */
export interface TransactionalTarget {
  readonly delivery: 'exactly-once';
  /** Resolves once the records are sent in the lane's open transaction; `committed` settles when it does. */
  write(
    topic: string,
    partition: number,
    records: RecordChunk,
    source: SourcePosition,
    throttle?: () => Promise<void>,
  ): Promise<{ readonly committed: Promise<void> }>;
  /** Fences every earlier owner of the source partition's lane; the position committed on the target, if any. */
  acquire(topic: string, partition: number): Promise<number | undefined>;
  release(topic: string, partition: number): void;
  /** Commits every open transaction. */
  flush(): Promise<void>;
}

/** A flow's target, told apart by its delivery guarantee. */
export type Target = FlowTarget | TransactionalTarget;
