// Two Kafka requests that kafkajs has no public API for, both for offset translation and sync:
// reading the first records at an offset of a partition with one Fetch request (no consumer group
// to join, no seek, nothing read beyond one small fetch), and committing offsets for a group
// without joining it (kafkajs's admin.setOffsets joins the group as a member, which would make a
// group that must stay idle briefly active). Both use the client's own cluster object (same
// connections, TLS and SASL settings).
import type { Kafka as KafkaClient } from 'kafkajs';
import {
  CorruptRecordBatchError,
  FetchIncompleteError,
  InternalInvariantError,
  MetadataUnavailableError,
} from '../errors/index.ts';
import type { SourceRecord } from '../protocol/records.ts';
// Also: the patched decoders, before any kafkajs module loads.
import { fetchedRecordSet, splitCommitted } from './kafkajs/index.ts';

/** One partition of a fetch response, as kafkajs decodes it. */
export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset?: string;
  abortedTransactions: Array<{ producerId: string; firstOffset: string }> | null;
  messages: Array<SourceRecord & { isControlRecord?: boolean }>;
}

/** The kafkajs broker connection's requests used here and by transactions.ts. */
export interface RawBroker {
  fetch(request: object): Promise<{ responses: Array<{ partitions: FetchedPartition[] }> }>;
  offsetCommit(request: object): Promise<unknown>;
  produce(request: object): Promise<unknown>;
  initProducerId(request: {
    /** null: an idempotent producer without transactions. */
    transactionalId: string | null;
    transactionTimeout: number;
  }): Promise<{ producerId: string; producerEpoch: number }>;
  addPartitionsToTxn(request: object): Promise<unknown>;
  endTxn(request: object): Promise<unknown>;
}

/** kafkajs's cluster object (connections, metadata, coordinators), shared by this client's requests. */
export interface RawCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<RawBroker>;
  /** coordinatorType 1 finds a transaction coordinator (groupId is then the transactional id). */
  findGroupCoordinator(group: { groupId: string; coordinatorType?: number }): Promise<RawBroker>;
}

/** What one read_committed fetch at an offset returned. */
export interface CommittedRead {
  /** Committed data records at or after the offset (no control markers, no aborted records). */
  readonly records: SourceRecord[];
  /** Where the next read continues: after the last complete batch, or the offset itself if none came. */
  readonly next: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
}

/**
 * The leader of a partition, the topic added to the cluster's metadata first; a retriable error
 * while no leader is known (the metadata is refreshed for the retry).
 */
export async function leaderOf(cluster: RawCluster, topic: string, partition: number): Promise<RawBroker> {
  await cluster.addTargetTopic(topic);
  const nodeId = Object.keys(cluster.findLeaderForPartitions(topic, [partition]))[0];
  if (nodeId === undefined) {
    await cluster.refreshMetadata();
    throw new MetadataUnavailableError(`no leader known for ${topic}/${partition}`);
  }
  return cluster.findBroker({ nodeId });
}

const READ_COMMITTED = 1;
/** A record batch is returned whole, so this only bounds how many batches one fetch brings. */
const FETCH_BYTES = 64 * 1024;

/** A kafkajs cluster object of the client (read_committed unless told otherwise). */
export function clusterOf<C = RawCluster>(kafka: KafkaClient, isolationLevel = READ_COMMITTED): C {
  const key = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const create = key === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[key];
  if (typeof create !== 'function')
    throw new InternalInvariantError(
      'this kafkajs version cannot create a cluster client (Kafka.createCluster)',
    );
  return (create as (options: object) => C)({ allowAutoTopicCreation: false, isolationLevel });
}

/**
 * What a read_committed fetch at `offset` brought: its committed data records at or after the
 * offset, without records of aborted transactions (filtered per record batch as Kafka's consumer
 * does, splitCommitted) and control markers. A batch that failed its check (record-batches.ts)
 * fails the read: nothing after it can be trusted, nor skipped.
 */
export function committedRead(topic: string, fetched: FetchedPartition, offset: number): CommittedRead {
  const set = fetchedRecordSet(fetched.messages);
  if (set?.invalid !== undefined)
    throw new CorruptRecordBatchError(
      topic,
      fetched.partition,
      Number(set.invalid.baseOffset),
      set.invalid.reason,
    );
  const records = splitCommitted(fetched.messages, fetched.abortedTransactions).committed.filter(
    (m) => Number(m.offset) >= offset,
  );
  const next = set?.nextOffset;
  if (next !== undefined && next <= offset)
    throw new FetchIncompleteError(topic, fetched.partition, offset, 'the fetch made no progress');
  const highWatermark = Number(fetched.highWatermark);
  return {
    records,
    next: next ?? offset,
    highWatermark,
    lastStableOffset: Number(fetched.lastStableOffset ?? highWatermark),
  };
}

export class RawClient {
  readonly #cluster: RawCluster;
  #destroyed: Promise<void> | undefined;

  constructor(kafka: KafkaClient) {
    this.#cluster = clusterOf(kafka);
  }

  /** The cluster object itself, for requests built elsewhere (transactions.ts). */
  get cluster(): RawCluster {
    return this.#cluster;
  }

  async connect(): Promise<void> {
    await this.#cluster.connect();
  }

  /**
   * Disconnects. Nothing is drained: every request is awaited by its caller, who is told by its
   * rejection. Idempotent.
   */
  close(): Promise<void> {
    return this.destroy();
  }

  /** Disconnects at once: requests in flight reject. Idempotent. */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#cluster.disconnect();
    return this.#destroyed;
  }

  /**
   * The first committed data records at or after `offset` (read_committed: records of aborted
   * transactions and control markers are not returned), from as few fetches as it takes to find
   * one; empty when there is none before the partition's end.
   */
  async recordsFrom(topic: string, partition: number, offset: number): Promise<SourceRecord[]> {
    let position = offset;
    for (;;) {
      const read = await this.read(topic, partition, position);
      if (read.records.length > 0) return read.records;
      // Nothing at or after `offset` in these batches (markers, aborted records, or batches that
      // compaction emptied): go on after the last complete batch, which keeps its offset range.
      const end = read.lastStableOffset;
      if (read.next === position) {
        if (position >= end) return []; // nothing committed there yet
        throw new FetchIncompleteError(
          topic,
          partition,
          position,
          `no complete record batch before the end (${end})`,
        );
      }
      position = read.next;
      if (position >= end) return [];
    }
  }

  /** One read_committed fetch at `offset`: the committed data records it brought and where to go on. */
  async read(topic: string, partition: number, offset: number): Promise<CommittedRead> {
    await this.#cluster.addTargetTopic(topic);
    return committedRead(topic, await this.#fetch(topic, partition, offset), offset);
  }

  /** The first committed data record at or after `offset`, or undefined before the partition's end. */
  async firstFrom(topic: string, partition: number, offset: number): Promise<SourceRecord | undefined> {
    return (await this.recordsFrom(topic, partition, offset))[0];
  }

  /**
   * Commits offsets for `group` as a client outside the group (generation -1, no member id), as
   * `kafka-consumer-groups --reset-offsets` does. The broker accepts it only while the group has
   * no active member, so a consumer that joined meanwhile is never overwritten.
   */
  async commitOffsets(
    group: string,
    topic: string,
    partitions: ReadonlyArray<{ partition: number; offset: number }>,
  ): Promise<void> {
    const coordinator = await this.#cluster.findGroupCoordinator({ groupId: group });
    await coordinator.offsetCommit({
      groupId: group,
      groupGenerationId: -1,
      memberId: '',
      topics: [
        { topic, partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })) },
      ],
    });
  }

  async #fetch(topic: string, partition: number, offset: number): Promise<FetchedPartition> {
    const leaders = this.#cluster.findLeaderForPartitions(topic, [partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      await this.#cluster.refreshMetadata();
      throw new MetadataUnavailableError(`no leader known for ${topic}/${partition}`);
    }
    const broker = await this.#cluster.findBroker({ nodeId });
    const { responses } = await broker.fetch({
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: FETCH_BYTES,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: FETCH_BYTES }] }],
    });
    const fetched = responses[0]?.partitions[0];
    if (fetched === undefined)
      throw new FetchIncompleteError(topic, partition, offset, 'the answer has no such partition');
    return fetched;
  }
}
