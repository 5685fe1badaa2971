// The target side of a flow in exactly-once mode (docs/architecture.md, "Exactly-once"). Each
// source partition (a lane) has its own transactional id, `<group>/<topic>/<partition>`: whoever
// owns the partition initialises that id first, which fences every earlier owner, whatever the
// consumer group believed. A lane's records and the source position after them are written in
// one transaction, the position to a compacted topic on the target; a new owner reads the last
// committed position there and resumes from it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import PQueue from 'p-queue';
import type { FlowConfig, TargetCompression } from '../../config/index.ts';
import {
  TargetTopicMissingError,
  TransactionFencedError,
  TransactionRejectedError,
  WriteRejectedError,
} from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { protocolErrorType } from '../client.ts';
import { crc32c } from '../../protocol/record-format.ts';
import type { SourcePosition } from '../../replication/ports.ts';
import { encodeChunk, requestChunks, sliceChunk, type RecordChunk } from '../../protocol/record-chunk.ts';
import { RawClient } from '../raw-client.ts';
import { ProduceAction, produceErrorOf } from './produce-errors.ts';
import { PendingRequests } from './target-writer.ts';
import { PartitionTransaction } from './transactions.ts';
import type { TopicAdmin } from '../topic-admin.ts';

/** Partitions taken over (fenced, position read) at once. */
const ACQUIRE_CONCURRENCY = 16;

/** Partitions of a positions topic that kafka-mirror creates. */
const POSITIONS_PARTITIONS = 16;
const POSITIONS_CONFIGS = {
  'cleanup.policy': 'compact',
  'segment.ms': String(10 * 60_000),
  'min.cleanable.dirty.ratio': '0.1',
};

export type TransactionResult = 'committed' | 'aborted' | 'fenced';

export interface TransactionalWriterOptions {
  readonly group: string;
  readonly positionsTopic: string;
  readonly transaction: FlowConfig['transaction'];
  readonly replicationFactor: number;
  readonly compression: TargetCompression;
  readonly maxRequestBytes: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly onRetry?: (error: unknown) => void;
  /** Called for every produce request sent again, with why (kafka_mirror_produce_retries_total). */
  readonly onResend?: (reason: string) => void;
  readonly onTransaction?: (result: TransactionResult) => void;
  /** Whether a topic exists on the target (a deleted one halts its partitions). */
  readonly topicExists?: (topic: string) => Promise<boolean>;
}

interface OpenTransaction {
  readonly since: number;
  readonly topic: string;
  readonly partition: number;
  records: number;
  bytes: number;
  next: number;
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

interface Lane {
  readonly source: { topic: string; partition: number };
  readonly key: string;
  readonly positionsPartition: number;
  readonly txn: PartitionTransaction;
  /** Serialises everything done with the lane's transaction. */
  tail: Promise<unknown>;
  open: OpenTransaction | undefined;
  committing: boolean;
  failed: unknown;
  /** Set once acquired (fenced, position read): writes before that are refused. */
  ready: boolean;
}

/** The transactional id of a source partition's lane: one per (group, source partition). */
const transactionalIdOf = (group: string, topic: string, partition: number) =>
  `${group}/${topic}/${partition}`;

/** The positions topic's record key of a source partition. */
const positionKeyOf = (group: string, topic: string, partition: number) =>
  JSON.stringify([group, topic, partition]);

/** The positions partition that holds a key: fixed by the key, so every owner reads the same one. */
const positionsPartitionOf = (key: string, partitions: number) =>
  (crc32c(Buffer.from(key)) >>> 0) % partitions;

const laneKeyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function deferred(): Pick<OpenTransaction, 'committed' | 'resolve' | 'reject'> {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  committed.catch(() => {}); // its owner handles it; a transaction nobody waits for is no crash
  return { committed, resolve, reject };
}

/** A write whose transaction is lost already (its owner handles the rejection; it is never unhandled). */
function failedWrite(error: unknown): TransactionalWrite {
  const committed = Promise.reject(error);
  committed.catch(() => {});
  return { committed };
}

/** What a write of a lane gives back: `committed` settles when its transaction does. */
export interface TransactionalWrite {
  readonly committed: Promise<void>;
}

export class TransactionalWriter {
  readonly delivery = 'exactly-once' as const;
  readonly #options: TransactionalWriterOptions;
  readonly #client: RawClient;
  readonly #lanes = new Map<string, Lane>();
  readonly #abort = new AbortController();
  /** Per positions partition: committed positions read so far and the offset to read on from. */
  readonly #snapshots = new Map<number, { offset: number; positions: Map<string, number> }>();
  readonly #reading = new Map<number, Promise<unknown>>();
  readonly #pending = new PendingRequests();
  /** Takeovers in flight: a rebalance of hundreds of partitions is not a burst of as many InitProducerId requests. */
  readonly #acquiring = new PQueue({ concurrency: ACQUIRE_CONCURRENCY });
  #positionsPartitions = POSITIONS_PARTITIONS;
  #timer: NodeJS.Timeout | undefined;

  constructor(kafka: KafkaClient, options: TransactionalWriterOptions) {
    this.#options = options;
    this.#client = new RawClient(kafka);
  }

  /** Connects, and creates the positions topic if it is missing. */
  async connect(admin: TopicAdmin): Promise<void> {
    await this.#client.connect();
    const { positionsTopic, replicationFactor } = this.#options;
    let count = (await admin.partitionCounts()).get(positionsTopic);
    if (count === undefined) {
      await admin
        .createTopic(positionsTopic, POSITIONS_PARTITIONS, replicationFactor, POSITIONS_CONFIGS)
        .catch((error: unknown) => {
          if (protocolErrorType(error) !== 'TOPIC_ALREADY_EXISTS') throw error;
        });
      count = (await admin.partitionCounts()).get(positionsTopic) ?? POSITIONS_PARTITIONS;
    }
    this.#positionsPartitions = count;
    const { intervalMs } = this.#options.transaction;
    this.#timer = setInterval(() => this.#commitDue(), Math.max(10, Math.floor(intervalMs / 4)));
    this.#timer.unref();
  }

  /**
   * Aborts what is still open (only after a shutdown that did not drain in time: a drained flow
   * has committed everything), so no transaction holds back the target's last stable offset
   * until its timeout, then disconnects.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const open = [...this.#lanes.values()].filter((lane) => lane.open !== undefined);
    const aborting = Promise.allSettled(
      open.map((lane) => this.#serial(lane, () => this.#abortOpen(lane, new Error('shutting down')))),
    );
    await Promise.race([aborting, sleep(2000, undefined, { ref: false })]);
    this.#abort.abort();
    await this.#client.close();
  }

  /**
   * Takes a source partition over: fences every earlier owner of its lane (their open transaction
   * is completed or aborted first) and returns the position committed on the target, undefined
   * when there is none (the lane never committed a transaction).
   */
  async acquire(topic: string, partition: number): Promise<number | undefined> {
    const laneKey = laneKeyOf(topic, partition);
    this.release(topic, partition);
    const { group, transaction, compression, requestTimeoutMs } = this.#options;
    const key = positionKeyOf(group, topic, partition);
    const txn = new PartitionTransaction(this.#client.cluster, {
      transactionalId: transactionalIdOf(group, topic, partition),
      timeoutMs: transaction.timeoutMs,
      requestTimeoutMs,
      compression,
      signal: this.#abort.signal,
      onRetry: (error) => this.#options.onRetry?.(error),
      onResend: this.#options.onResend,
      topicExists: this.#options.topicExists,
    });
    const lane: Lane = {
      source: { topic, partition },
      key,
      positionsPartition: positionsPartitionOf(key, this.#positionsPartitions),
      txn,
      tail: Promise.resolve(),
      open: undefined,
      committing: false,
      failed: undefined,
      ready: false,
    };
    this.#lanes.set(laneKey, lane);
    const released = () => this.#lanes.get(laneKey) !== lane;
    const position = (await this.#acquiring.add(async () => {
      // A lane given up while it waited here must not initialise its id: that would fence the newer owner.
      if (released()) return undefined;
      await this.#pending.track(() => txn.init());
      return this.#committedPosition(lane);
    })) as number | undefined;
    if (released()) throw new TransactionFencedError(txn.transactionalId, 'released while acquiring');
    lane.ready = true;
    return position;
  }

  /** Gives a lane up (its partition was revoked): its open transaction is aborted, best effort. */
  release(topic: string, partition: number): void {
    const laneKey = laneKeyOf(topic, partition);
    const lane = this.#lanes.get(laneKey);
    if (lane === undefined) return;
    this.#lanes.delete(laneKey);
    lane.failed ??= new TransactionFencedError(lane.txn.transactionalId, 'released');
    // Aborted now rather than when the next owner fences it: an open transaction holds back what
    // read_committed consumers of the target partition see.
    void this.#serial(lane, () => this.#abortOpen(lane, lane.failed, true)).catch(() => {});
  }

  /**
   * Sends records of a lane in its open transaction (beginning one if needed) and records
   * `source` as the lane's position. Resolves once the records are sent; `committed` settles with
   * the transaction. Rejects only with WriteRejectedError, TargetTopicMissingError or
   * TransactionRejectedError (the partition halts); any other failure (fenced, aborted) rejects
   * `committed`. A refusal of the commit itself (the position record, EndTxn) rejects `committed`
   * with the same errors: the partition halts too.
   */
  async write(
    topic: string,
    partition: number,
    records: RecordChunk,
    source: SourcePosition,
  ): Promise<TransactionalWrite> {
    const lane = this.#lanes.get(laneKeyOf(source.topic, source.partition));
    if (lane === undefined || !lane.ready) {
      const error = new TransactionFencedError(
        transactionalIdOf(this.#options.group, source.topic, source.partition),
        'lane not acquired',
      );
      return failedWrite(error);
    }
    return this.#serial(lane, async () => {
      if (lane.failed !== undefined) return failedWrite(lane.failed);
      try {
        const open = lane.open ?? (await this.#begin(lane, topic, partition));
        if (open.topic !== topic || open.partition !== partition)
          throw new Error(`lane ${source.topic}/${source.partition} cannot write to a second partition`);
        await this.#send(lane.txn, topic, partition, records);
        open.records += records.count;
        open.bytes += records.body.length;
        open.next = source.next;
        const { maxRecords, maxBytes } = this.#options.transaction;
        if (open.records >= maxRecords || open.bytes >= maxBytes) await this.#commit(lane);
        return { committed: open.committed };
      } catch (error) {
        await this.#abortOpen(lane, error);
        if (
          error instanceof WriteRejectedError ||
          error instanceof TargetTopicMissingError ||
          error instanceof TransactionRejectedError
        )
          throw error;
        return failedWrite(error);
      }
    });
  }

  /** Commits every open transaction now (graceful shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled(
      [...this.#lanes.values()].map((lane) => this.#serial(lane, () => this.#commit(lane))),
    );
  }

  /** When the oldest request still waiting for the target began (undefined when none is). */
  pendingSince(): number | undefined {
    return this.#pending.oldest();
  }

  async #begin(lane: Lane, topic: string, partition: number): Promise<OpenTransaction> {
    await this.#pending.track(() =>
      lane.txn.begin([
        { topic, partition },
        { topic: this.#options.positionsTopic, partition: lane.positionsPartition },
      ]),
    );
    lane.open = { since: Date.now(), topic, partition, records: 0, bytes: 0, next: -1, ...deferred() };
    return lane.open;
  }

  /** Sends in requests of at most maxRequestBytes; a request the broker finds too large is split. */
  async #send(
    txn: PartitionTransaction,
    topic: string,
    partition: number,
    records: RecordChunk,
  ): Promise<void> {
    for (const chunk of requestChunks(records, this.#options.maxRequestBytes)) {
      try {
        await this.#pending.track(() => txn.send(topic, partition, chunk));
      } catch (error) {
        // A WriteRejectedError whose cause is an answer Kafka's producer splits on (produce-errors.ts).
        const answer = error instanceof WriteRejectedError ? produceErrorOf(error) : undefined;
        if (answer?.action !== ProduceAction.SPLIT || chunk.count === 1) throw error;
        this.#options.onResend?.(answer.name);
        const half = Math.ceil(chunk.count / 2);
        await this.#send(txn, topic, partition, sliceChunk(chunk, 0, half));
        await this.#send(txn, topic, partition, sliceChunk(chunk, half, chunk.count));
      }
    }
  }

  /** Writes the lane's position and commits; on failure the lane is failed and the transaction aborted. */
  async #commit(lane: Lane): Promise<void> {
    const open = lane.open;
    if (open === undefined || lane.failed !== undefined) return;
    try {
      const position = encodeChunk([
        {
          key: Buffer.from(lane.key),
          value: Buffer.from(JSON.stringify({ next: open.next, at: new Date().toISOString() })),
          timestamp: String(Date.now()),
          headers: [],
        },
      ]);
      await this.#pending.track(() =>
        lane.txn.send(this.#options.positionsTopic, lane.positionsPartition, position),
      );
      await this.#pending.track(() => lane.txn.commit());
      lane.open = undefined;
      this.#options.onTransaction?.('committed');
      open.resolve();
    } catch (error) {
      await this.#abortOpen(lane, error);
    }
  }

  /** Fails the lane: its open transaction is aborted (best effort; a fenced one is aborted by the new owner). */
  async #abortOpen(lane: Lane, error: unknown, released = false): Promise<void> {
    lane.failed ??= error;
    const open = lane.open;
    lane.open = undefined;
    if (open === undefined) return;
    let fenced = error instanceof TransactionFencedError && !released;
    if (!fenced)
      await this.#pending
        .track(() => lane.txn.abort())
        .catch((failure: unknown) => {
          fenced = failure instanceof TransactionFencedError;
        });
    this.#options.onTransaction?.(fenced ? 'fenced' : 'aborted');
    open.reject(error);
  }

  #commitDue(): void {
    const due = Date.now() - this.#options.transaction.intervalMs;
    for (const lane of this.#lanes.values()) {
      if (lane.open === undefined || lane.open.since > due || lane.committing) continue;
      lane.committing = true;
      void this.#serial(lane, () => this.#commit(lane)).finally(() => (lane.committing = false));
    }
  }

  #serial<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    const run = lane.tail.then(task, task);
    lane.tail = run.catch(() => {});
    return run;
  }

  /**
   * The lane's last committed position. Read once the positions partition's last stable offset
   * reaches its high watermark as seen after the fencing: until then another lane's open
   * transaction can hide a committed position behind it (read_committed stops there).
   */
  async #committedPosition(lane: Lane): Promise<number | undefined> {
    const partition = lane.positionsPartition;
    const previous = this.#reading.get(partition) ?? Promise.resolve();
    const reading = previous.then(() => this.#readPositions(partition));
    this.#reading.set(
      partition,
      reading.catch(() => {}),
    );
    await reading;
    return this.#snapshots.get(partition)?.positions.get(lane.key);
  }

  async #readPositions(partition: number): Promise<void> {
    const topic = this.#options.positionsTopic;
    const snapshot = this.#snapshots.get(partition) ?? { offset: 0, positions: new Map<string, number>() };
    let read = await this.#client.read(topic, partition, snapshot.offset);
    const end = read.highWatermark;
    // Transactions end within their timeout (the coordinator aborts them then).
    const deadline = Date.now() + this.#options.transaction.timeoutMs * 2;
    while (read.lastStableOffset < end) {
      if (Date.now() > deadline || this.#abort.signal.aborted)
        throw new Error(`${topic}/${partition}: last stable offset stayed below ${end}`);
      await sleep(50);
      read = await this.#client.read(topic, partition, snapshot.offset);
    }
    let at = snapshot.offset;
    while (at < end) {
      for (const record of read.records) {
        if (Number(record.offset) >= end || record.key === null || record.value === null) continue;
        const { next } = JSON.parse(record.value.toString()) as { next: number };
        snapshot.positions.set(record.key.toString(), next);
      }
      if (read.next === at)
        throw new Error(`${topic}/${partition}: no committed batch at ${at}, below ${end}`);
      at = read.next;
      if (at < end) read = await this.#client.read(topic, partition, at);
    }
    snapshot.offset = Math.min(at, end);
    this.#snapshots.set(partition, snapshot);
  }
}
