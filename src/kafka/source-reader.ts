import type { Consumer, Kafka as KafkaClient } from 'kafkajs';
import type { Compression, Config } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { payloadBytes, queueCharge, type SourceRecord } from '../protocol/records.ts';
import {
  fromPartitionKey,
  partitionKey,
  type FetchedBatch,
  type SourceOffset,
  type TopicPartition,
} from '../replication/ports.ts';
import { FetchSizer } from './fetch-sizer.ts';
import type { CorruptRecordBatchError } from '../errors/index.ts';
import { corruptBatchOf, fetchedSet, setGroupFetchLimits } from './kafkajs/index.ts';

/** Kafka's codec ids (record batch attributes & 7). */
const CODECS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface BatchHandler {
  /**
   * One fetched batch of one partition, in order, also one without records that only moves the
   * position (`nextOffset`). Resolves once the batch is accepted (queued);
   * `keepAlive` heartbeats the group and is called while the handler waits for queue space.
   * False: the batch was dropped and the fetch position must not move past it (a rejoin or a
   * restore seeks elsewhere; a later resolve would undo that seek).
   */
  onBatch(batch: FetchedBatch, keepAlive: () => Promise<void>): Promise<boolean>;
  /** After every group (re)join: the partitions this instance now owns. */
  onAssignment(assigned: readonly TopicPartition[]): void;
  /** A rebalance started: the last chance to commit for partitions that may move away. */
  onRebalancing(): void;
  /** The consumer crashed; it restarts and rejoins by itself (onAssignment follows). */
  onCrash(error: unknown): void;
  /** A fetched batch failed its check (kafkajs.ts): the partition halts before it. */
  onCorruptBatch(error: CorruptRecordBatchError): void;
}

export interface ReaderOptions {
  group: string;
  startFrom: 'earliest' | 'latest';
  consumer: Config['consumer'];
  logger: Logger;
}

/**
 * The source side of a flow: a kafkajs consumer in the flow's group (partitions spread over the
 * instances that run the flow). It never commits on its own (autoCommit off); the flow commits
 * the watermark of what the target acknowledged. It reads read_committed, so aborted
 * transactions are skipped and offsets have gaps.
 */
export class SourceReader {
  readonly #consumer: Consumer;
  readonly #options: ReaderOptions;
  readonly #handler: BatchHandler;
  readonly #sizer: FetchSizer;
  #topics: readonly string[] = [];
  /** Topics of the last assignment: a join inside run() comes before #topics is set. */
  #assignedTopics: readonly string[] = [];
  /** Fetching held for every partition (pauseAll): a flow paused, or draining. */
  #held = false;
  /** Partitions the flow paused one by one (halted, being restored), applied again on resumeAll. */
  readonly #pausedPartitions = new Set<string>();
  #running = false;
  #closed: Promise<void> | undefined;
  #destroyed: Promise<void> | undefined;

  constructor(kafka: KafkaClient, options: ReaderOptions, handler: BatchHandler) {
    this.#options = options;
    this.#handler = handler;
    const { consumer } = options;
    // consumer.maxBytes and maxBytesPerPartition bound the memory of a fetch, decoded.
    this.#sizer = new FetchSizer(consumer);
    setGroupFetchLimits(options.group, this.#sizer.limits());
    this.#consumer = kafka.consumer({
      groupId: options.group,
      sessionTimeout: consumer.sessionTimeoutMs,
      rebalanceTimeout: Math.max(60_000, consumer.sessionTimeoutMs * 2),
      heartbeatInterval: Math.max(500, Math.floor(consumer.sessionTimeoutMs / 10)),
      maxBytes: consumer.maxBytes,
      maxBytesPerPartition: consumer.maxBytesPerPartition,
      maxWaitTimeInMs: consumer.maxWaitMs,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      // A crashed consumer (lost coordinator, network) restarts and rejoins; the flow never stops by itself.
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => true },
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      options.logger.info({ assigned: assigned.length, group: options.group }, 'joined source group');
      this.#assignedTopics = Object.keys(payload.memberAssignment);
      this.#handler.onAssignment(assigned);
      // A new consumer group of kafkajs (after a subscription change or a crash) starts without
      // pauses: a held reader stays held across every join, before the first fetch of it.
      if (this.#held) this.#pauseTopics();
    });
    // kafkajs has no revocation callback; REBALANCING is emitted when the group starts to
    // rebalance, before this member rejoins, so a commit now still belongs to the old generation.
    this.#consumer.on(this.#consumer.events.REBALANCING, () => this.#handler.onRebalancing());
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      options.logger.error({ err: payload.error, restart: payload.restart }, 'source consumer crashed');
      this.#handler.onCrash(payload.error);
    });
  }

  async connect(): Promise<void> {
    await this.#consumer.connect();
  }

  get topics(): readonly string[] {
    return this.#topics;
  }

  /**
   * Consumes exactly these topics; a change restarts consumption (and rebalances the group). So
   * does `restart`, which the flow asks for when a topic gained partitions: kafkajs only learns
   * of new partitions when the group rejoins.
   */
  async setTopics(topics: readonly string[], restart = false): Promise<void> {
    const sorted = [...topics].sort();
    if (this.#running && !restart && sorted.join('\n') === this.#topics.join('\n')) return;
    if (this.#running) await this.#consumer.stop();
    this.#running = false;
    if (sorted.length === 0) {
      this.#topics = sorted;
      return;
    }
    await this.#consumer.subscribe({
      topics: [...sorted],
      fromBeginning: this.#options.startFrom === 'earliest',
    });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        // Handed on even when empty; its records before the bad batch are still copied (issue 19).
        const corrupt = corruptBatchOf(batch);
        if (corrupt !== undefined) this.#handler.onCorruptBatch(corrupt);
        const fetched = fetchedSet(batch);
        // Where the fetch ends: past its last complete record batch (before a corrupt one), also
        // when that batch is a transaction marker, aborted or emptied by compaction. The patched
        // Batch (kafkajs.ts) hands such a fetch on even without records, so that the flow commits
        // past it and kafkajs fetches past it, as Kafka's consumer moves its position past every
        // fetched batch (CompletedFetch.nextFetchedRecord, FetchCollector.fetchRecords).
        const end = fetched?.nextOffset;
        const from = Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);
        const nextOffset = end !== undefined && end > from ? end : undefined;
        if (batch.messages.length === 0 && nextOffset === undefined) return;
        // Zero copy: the patched decoder (kafkajs.ts) already gives each message the SourceRecord
        // shape: offset and timestamp strings, key and value Buffers, headers as an ordered list.
        const records = batch.messages as unknown as SourceRecord[];
        this.#sizeFetches(fetched?.wireBytes, records);
        const compression = fetched?.codec === undefined ? undefined : CODECS[fetched.codec];
        const taken = await this.#handler.onBatch(
          { topic: batch.topic, partition: batch.partition, records, compression, nextOffset },
          heartbeat,
        );
        if (!taken) return;
        // Advances kafkajs's fetch position only; what is committed is the flow's watermark.
        const last = batch.messages[batch.messages.length - 1];
        if (nextOffset !== undefined) resolveOffset(String(nextOffset - 1));
        else if (last !== undefined) resolveOffset(last.offset);
        await heartbeat();
      },
    });
    // Recorded only once consumption runs, so a failed restart still shows as a difference.
    this.#topics = sorted;
    this.#running = true;
  }

  #sizeFetches(wire: number | undefined, records: readonly SourceRecord[]): void {
    if (wire === undefined) return;
    let memory = 0;
    for (const r of records) memory += queueCharge(payloadBytes(r), r.headers.length);
    this.#sizer.observe(wire, memory);
    setGroupFetchLimits(this.#options.group, this.#sizer.limits());
  }

  /**
   * Holds fetching of every partition, the consumer staying in its group (it heartbeats, commits
   * and keeps its assignment: no rebalance), also across later joins, until resumeAll.
   */
  pauseAll(): void {
    this.#held = true;
    this.#pauseTopics();
  }

  /** Fetching goes on where it stopped; partitions paused one by one stay paused. */
  resumeAll(): void {
    this.#held = false;
    const topics = this.#allTopics();
    // kafkajs's topic-wide resume also clears the pauses of single partitions: set again after it.
    if (topics.length > 0) this.#whileRunning('resume', () => this.#consumer.resume(topics));
    for (const key of this.#pausedPartitions) {
      const { topic, partition } = fromPartitionKey(key);
      this.#whileRunning('pause', () => this.#consumer.pause([{ topic, partitions: [partition] }]));
    }
  }

  // kafkajs's pause of one partition clears its topic-wide pause (SubscriptionState.pause): while
  // held, a partition's pause or resume is only recorded, and applied by resumeAll.
  pause(topic: string, partition: number): void {
    this.#pausedPartitions.add(partitionKey(topic, partition));
    if (this.#held) return;
    this.#whileRunning('pause', () => this.#consumer.pause([{ topic, partitions: [partition] }]));
  }

  resume(topic: string, partition: number): void {
    this.#pausedPartitions.delete(partitionKey(topic, partition));
    if (this.#held) return;
    this.#whileRunning('resume', () => this.#consumer.resume([{ topic, partitions: [partition] }]));
  }

  #pauseTopics(): void {
    const topics = this.#allTopics();
    if (topics.length > 0) this.#whileRunning('pause', () => this.#consumer.pause(topics));
  }

  #allTopics(): Array<{ topic: string }> {
    return [...new Set([...this.#topics, ...this.#assignedTopics])].map((topic) => ({ topic }));
  }

  /** Applied at the partition's next fetch; a fetch in flight for it is dropped. */
  seek(topic: string, partition: number, offset: number): void {
    this.#whileRunning('seek', () => this.#consumer.seek({ topic, partition, offset: String(offset) }));
  }

  /**
   * kafkajs throws on pause, resume and seek while its consumer is not running (restarting after a
   * crash, between stop and run): nothing is fetched then, and the next join starts afresh.
   */
  #whileRunning(what: string, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#options.logger.warn({ err: error, action: what }, 'source consumer not running; skipped');
    }
  }

  /**
   * Commits to the flow's group; resolves with the offsets the group coordinator acknowledged.
   * kafkajs's commitOffsets returns without error, and without sending anything, while its consumer
   * is not running (stopped, restarting after a crash), and also when it stops during the
   * commit's retries. The acknowledgement is therefore taken from kafkajs's COMMIT_OFFSETS event,
   * emitted (synchronously) only after an OffsetCommit response without any partition error: as
   * Kafka's ConsumerCoordinator, where a commit is done only on such a response
   * (OffsetCommitResponseHandler) and fails outright when the consumer is not in an active group.
   */
  async commit(offsets: ReadonlyArray<SourceOffset>): Promise<SourceOffset[]> {
    if (offsets.length === 0) return [];
    const key = (topic: string, partition: number, offset: string) =>
      `${partitionKey(topic, partition)}\u0000${offset}`;
    const acknowledged = new Set<string>();
    // Any commit answered while this one runs counts, also a concurrent one: the coordinator
    // acknowledged that very offset of that partition.
    const remove = this.#consumer.on(this.#consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const { topic, partitions } of payload.topics)
        for (const p of partitions) acknowledged.add(key(topic, p.partition, String(p.offset)));
    });
    try {
      await this.#consumer.commitOffsets(
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })),
      );
    } finally {
      remove();
    }
    return offsets.filter((o) => acknowledged.has(key(o.topic, o.partition, String(o.offset))));
  }

  /** Stops fetching; returns once no batch is being handed over. */
  async stopFetching(): Promise<void> {
    if (this.#running) await this.#consumer.stop();
    this.#running = false;
  }

  /** Stops fetching (no batch is being handed over any more), then leaves the group and disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#destroyed ?? this.stopFetching().finally(() => this.destroy());
    return this.#closed;
  }

  /** Leaves the group and disconnects at once (kafkajs stops the consumer first). Idempotent. */
  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      await this.#consumer.disconnect();
      setGroupFetchLimits(this.#options.group, undefined);
    })();
    return this.#destroyed;
  }
}
