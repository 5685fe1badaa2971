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
  LaneTargetMismatchError,
  TargetTopicMissingError,
  TransactionFencedError,
  TransactionRejectedError,
  WriteRejectedError,
  WriterClosedError,
} from '../../errors/index.ts';
import type { Logger } from '../../observability/logger.ts';
import { requestChunks, type RecordChunk } from '../../protocol/record-chunk.ts';
import { partitionKey, type SourcePosition, type TransactionalTarget } from '../../replication/ports.ts';
import { RawClient } from '../raw-client.ts';
import { Lifecycle } from './lifecycle.ts';
import { PendingRequests } from './pending-requests.ts';
import { PositionsTopic, type PositionsAdmin, type PositionSlot } from './positions.ts';
import { PartitionTransaction } from './transactions.ts';
import type { WriterLifecycle } from './writer.ts';

/** Partitions taken over (fenced, position read) at once. */
const ACQUIRE_CONCURRENCY = 16;

export type TransactionResult = 'committed' | 'aborted' | 'fenced';

export interface TransactionalWriterOptions {
  readonly group: string;
  readonly positionsTopic: string;
  readonly transaction: FlowConfig['transaction'];
  readonly replicationFactor: number;
  readonly compression: TargetCompression;
  readonly maxRequestBytes: number;
  /** Produce requests in flight at once per target partition within a transaction (1 to 5). */
  readonly maxInFlightPerPartition?: number;
  readonly requestTimeoutMs: number;
  /** The target's admin: connect() creates the positions topic with it if it is missing. */
  readonly admin: PositionsAdmin;
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
  /** Acknowledgements of its produce requests still awaited (several in flight per partition). */
  readonly sends: Set<Promise<void>>;
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

interface Lane {
  readonly source: { topic: string; partition: number };
  /** Where the lane's position is kept in the positions topic. */
  readonly slot: PositionSlot;
  readonly txn: PartitionTransaction;
  /** Serialises everything done with the lane's transaction. */
  tail: Promise<unknown>;
  open: OpenTransaction | undefined;
  committing: boolean;
  /** Writes under way (called, not yet acknowledged): none, and the lane has nothing more to write. */
  writing: number;
  failed: unknown;
  /** Set once acquired (fenced, position read): writes before that are refused. */
  ready: boolean;
}

/** The transactional id of a source partition's lane: one per (group, source partition). */
const transactionalIdOf = (group: string, topic: string, partition: number) =>
  `${group}/${topic}/${partition}`;

/** Failures after which the partition halts: the write rejects with them rather than `committed`. */
const halts = (error: unknown) =>
  error instanceof WriteRejectedError ||
  error instanceof TargetTopicMissingError ||
  error instanceof TransactionRejectedError;

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

export class TransactionalWriter implements TransactionalTarget, WriterLifecycle {
  readonly delivery = 'exactly-once' as const;
  readonly #options: TransactionalWriterOptions;
  readonly #client: RawClient;
  readonly #positions: PositionsTopic;
  readonly #lanes = new Map<string, Lane>();
  readonly #abort = new AbortController();
  readonly #lifecycle = new Lifecycle();
  readonly #pending = new PendingRequests();
  /** Takeovers in flight: a rebalance of hundreds of partitions is not a burst of as many InitProducerId requests. */
  readonly #acquiring = new PQueue({ concurrency: ACQUIRE_CONCURRENCY });
  #timer: NodeJS.Timeout | undefined;

  constructor(kafka: KafkaClient, options: TransactionalWriterOptions) {
    this.#options = options;
    this.#client = new RawClient(kafka);
    this.#positions = new PositionsTopic(this.#client, {
      topic: options.positionsTopic,
      group: options.group,
      transactionTimeoutMs: options.transaction.timeoutMs,
      signal: this.#abort.signal,
    });
  }

  /** Connects, and creates the positions topic if it is missing. */
  async connect(): Promise<void> {
    await this.#client.connect();
    await this.#positions.prepare(this.#options.admin, this.#options.replicationFactor);
    if (this.#lifecycle.ended) return;
    const { intervalMs, idleCommitMs } = this.#options.transaction;
    const tick = Math.max(5, Math.floor(Math.min(intervalMs, idleCommitMs) / 4));
    this.#timer = setInterval(() => this.#commitDue(), tick);
    this.#timer.unref();
  }

  /**
   * Aborts what is still open (only after a shutdown that did not drain in time: a drained flow
   * has committed everything), so no transaction holds back the target's last stable offset
   * until its timeout, then disconnects.
   */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      clearInterval(this.#timer);
      const open = [...this.#lanes.values()].filter((lane) => lane.open !== undefined);
      const aborting = Promise.allSettled(
        open.map((lane) => this.#serial(lane, () => this.#abortOpen(lane, new WriterClosedError()))),
      );
      await Promise.race([aborting, sleep(2000, undefined, { ref: false })]);
      this.#abort.abort();
      await this.#client.close();
    });
  }

  /**
   * Stops at once: requests in flight reject, every open transaction's `committed` rejects
   * (WriterClosedError; the coordinator aborts the transaction at its timeout, or the next owner
   * of the lane fences it), then disconnects.
   */
  destroy(): Promise<void> {
    return this.#lifecycle.destroy(async () => {
      clearInterval(this.#timer);
      this.#abort.abort();
      const closed = new WriterClosedError();
      this.#pending.destroy(closed);
      for (const lane of this.#lanes.values()) {
        lane.failed ??= closed;
        lane.open?.reject(closed);
        lane.open = undefined;
      }
      await this.#client.close();
    });
  }

  /**
   * Takes a source partition over: fences every earlier owner of its lane (their open transaction
   * is completed or aborted first) and returns the position committed on the target, undefined
   * when there is none (the lane never committed a transaction).
   */
  async acquire(topic: string, partition: number): Promise<number | undefined> {
    if (this.#abort.signal.aborted) throw new WriterClosedError();
    const laneKey = partitionKey(topic, partition);
    this.release(topic, partition);
    const lane: Lane = {
      source: { topic, partition },
      slot: this.#positions.slotOf(topic, partition),
      txn: this.#transaction(topic, partition),
      tail: Promise.resolve(),
      open: undefined,
      committing: false,
      writing: 0,
      failed: undefined,
      ready: false,
    };
    this.#lanes.set(laneKey, lane);
    const released = () => this.#lanes.get(laneKey) !== lane;
    const position = (await this.#acquiring.add(async () => {
      // A lane given up while it waited here must not initialise its id: that would fence the newer owner.
      if (released()) return undefined;
      await this.#pending.track(() => lane.txn.init());
      return this.#positions.committed(lane.slot);
    })) as number | undefined;
    if (released()) throw new TransactionFencedError(lane.txn.transactionalId, 'released while acquiring');
    lane.ready = true;
    return position;
  }

  #transaction(topic: string, partition: number): PartitionTransaction {
    const { group, transaction, compression, requestTimeoutMs } = this.#options;
    return new PartitionTransaction(this.#client.cluster, {
      transactionalId: transactionalIdOf(group, topic, partition),
      timeoutMs: transaction.timeoutMs,
      requestTimeoutMs,
      compression,
      signal: this.#abort.signal,
      onRetry: (error) => this.#options.onRetry?.(error),
      onResend: this.#options.onResend,
      topicExists: this.#options.topicExists,
      maxInFlight: this.#options.maxInFlightPerPartition,
    });
  }

  /** Gives a lane up (its partition was revoked): its open transaction is aborted, best effort. */
  release(topic: string, partition: number): void {
    const laneKey = partitionKey(topic, partition);
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
   * `source` as the lane's position. Resolves once the target acknowledged the records; `committed`
   * settles with the transaction. The lane's writes may overlap: their records go out in the order
   * of the calls (sequence numbers are taken then), several requests in flight per partition, as
   * Kafka's transactional producer pipelines them; the transaction commits only once every one of
   * them is acknowledged. Rejects only with WriteRejectedError, TargetTopicMissingError or
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
    const lane = this.#lanes.get(partitionKey(source.topic, source.partition));
    if (lane === undefined || !lane.ready) {
      const error = new TransactionFencedError(
        transactionalIdOf(this.#options.group, source.topic, source.partition),
        'lane not acquired',
      );
      return failedWrite(error);
    }
    lane.writing++;
    try {
      return await this.#write(lane, topic, partition, records, source);
    } finally {
      lane.writing--;
    }
  }

  async #write(
    lane: Lane,
    topic: string,
    partition: number,
    records: RecordChunk,
    source: SourcePosition,
  ): Promise<TransactionalWrite> {
    let acknowledged: Promise<void> | undefined;
    const written = await this.#serial(lane, async () => {
      if (lane.failed !== undefined) return failedWrite(lane.failed);
      try {
        const open = lane.open ?? (await this.#begin(lane, topic, partition));
        if (open.topic !== topic || open.partition !== partition)
          throw new LaneTargetMismatchError(source.topic, source.partition);
        const sent = this.#send(lane.txn, topic, partition, records);
        acknowledged = sent.acknowledged;
        open.sends.add(acknowledged);
        void acknowledged.then(
          () => open.sends.delete(acknowledged as Promise<void>),
          () => {}, // kept: the commit or the abort finds the failure there
        );
        // The lane's next write may follow once these requests are queued on the connection.
        await sent.handedOver;
        open.records += records.count;
        open.bytes += records.body.length;
        open.next = source.next;
        const { maxRecords, maxBytes } = this.#options.transaction;
        if (open.records >= maxRecords || open.bytes >= maxBytes) await this.#commit(lane, 'full');
        return { committed: open.committed };
      } catch (error) {
        await this.#abortOpen(lane, error);
        if (halts(error)) throw error;
        return failedWrite(error);
      }
    });
    if (acknowledged === undefined) return written;
    try {
      await acknowledged;
      return written;
    } catch (error) {
      // The transaction cannot commit: aborted now (once its other requests are answered), and
      // `committed` rejects with this failure.
      await this.#serial(lane, () => this.#abortOpen(lane, error));
      if (halts(error)) throw error;
      return failedWrite(error);
    }
  }

  /** Commits every open transaction now (graceful shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled(
      [...this.#lanes.values()].map((lane) => this.#serial(lane, () => this.#commit(lane, 'flush'))),
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
        { topic: this.#positions.topic, partition: lane.slot.partition },
      ]),
    );
    lane.open = {
      since: Date.now(),
      topic,
      partition,
      records: 0,
      bytes: 0,
      next: -1,
      sends: new Set(),
      ...deferred(),
    };
    return lane.open;
  }

  /**
   * Sends in requests of at most maxRequestBytes, numbered now in this order (a request the broker
   * finds too large is split in its place: transactions.ts). `handedOver`: every request is queued
   * on its connection; `acknowledged`: the broker acknowledged every one.
   */
  #send(
    txn: PartitionTransaction,
    topic: string,
    partition: number,
    records: RecordChunk,
  ): { handedOver: Promise<unknown>; acknowledged: Promise<void> } {
    const handOvers: Array<Promise<void>> = [];
    const acks = Array.from(requestChunks(records, this.#options.maxRequestBytes), (chunk) => {
      let handed!: () => void;
      handOvers.push(new Promise<void>((resolve) => (handed = resolve)));
      return this.#pending.track(() => txn.send(topic, partition, chunk, handed));
    });
    const acknowledged = Promise.all(acks).then(() => {});
    acknowledged.catch(() => {}); // its write awaits it; a commit or abort may find it failed first
    return { handedOver: Promise.all(handOvers), acknowledged };
  }

  /**
   * Waits for every request of the open transaction, writes the lane's position and commits; on
   * failure the lane is failed and the transaction aborted. As Kafka's Sender, EndTxn goes only
   * once no produce request of the transaction is incomplete
   * (Sender.maybeSendAndPollTransactionalRequest waits for the accumulator's incomplete batches).
   */
  async #commit(lane: Lane, why: 'full' | 'interval' | 'idle' | 'flush'): Promise<void> {
    const open = lane.open;
    if (open === undefined || lane.failed !== undefined) return;
    try {
      // The position goes out beside the records still in flight (another partition, so no order
      // between them); EndTxn only once every one is acknowledged.
      const position = this.#positions.record(lane.slot, open.next);
      const positioned = this.#pending.track(() =>
        lane.txn.send(this.#positions.topic, lane.slot.partition, position),
      );
      open.sends.add(positioned);
      positioned.catch(() => {}); // awaited below, or by the abort
      await Promise.all(open.sends);
      await this.#pending.track(() => lane.txn.commit());
      lane.open = undefined;
      this.#options.onTransaction?.('committed');
      const { topic, partition, records, bytes, since } = open;
      this.#options.logger.debug(
        { topic, partition, records, bytes, ageMs: Date.now() - since, why },
        'transaction committed',
      );
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
    // EndTxn only once the transaction's produce requests are answered: an abort marker written
    // before a request still on its way would leave that request's records outside any transaction
    // the coordinator knows, holding back the partition's last stable offset (Kafka's Sender waits
    // the same way).
    await Promise.allSettled(open.sends);
    if (!fenced)
      await this.#pending
        .track(() => lane.txn.abort())
        .catch((failure: unknown) => {
          fenced = failure instanceof TransactionFencedError;
        });
    this.#options.onTransaction?.(fenced ? 'fenced' : 'aborted');
    open.reject(error);
  }

  /**
   * Commits the transactions open intervalMs or longer, and those open idleCommitMs or longer whose
   * lane has nothing more to write: a light load waits idleCommitMs, not intervalMs, to be seen.
   */
  #commitDue(): void {
    const now = Date.now();
    const { intervalMs, idleCommitMs } = this.#options.transaction;
    for (const lane of this.#lanes.values()) {
      if (lane.open === undefined || lane.committing) continue;
      const age = now - lane.open.since;
      if (age < intervalMs && (age < idleCommitMs || lane.writing > 0)) continue;
      lane.committing = true;
      const why = age >= intervalMs ? 'interval' : 'idle';
      void this.#serial(lane, () => this.#commit(lane, why)).finally(() => (lane.committing = false));
    }
  }

  #serial<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    const run = lane.tail.then(task, task);
    lane.tail = run.catch(() => {});
    return run;
  }
}
