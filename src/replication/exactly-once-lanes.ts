// Exactly-once delivery, the flow's side of it: each source partition is a lane, written in
// transactions that commit the partition's position on the target with its records
// (kafka/writers/transactional-writer.ts). A lane is restored before anything of it is read: taken
// over on the target (fencing every earlier owner), and the source sought to the position
// committed there. Its chunks count as written only once their transaction commits; a failed
// transaction restores the lane again, a refused one halts its partition.
import { setTimeout as sleep } from 'node:timers/promises';
import { TargetTopicMissingError, TransactionRejectedError, WriteRejectedError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCode, type FlowMetrics } from '../observability/metrics.ts';
import type { SourceRecord } from '../protocol/records.ts';
import { backoffMs } from './backoff.ts';
import type { BoundedQueue } from './bounded-queue.ts';
import type { WriteItem, WrittenChunk } from './chunker.ts';
import type { OffsetTracker } from './offset-tracker.ts';
import {
  fromPartitionKey,
  partitionKey,
  type FlowSource,
  type SourcePosition,
  type TopicPartition,
  type TransactionalTarget,
} from './ports.ts';

/** Exactly-once state of one source partition. */
export interface LaneState {
  /** Bumped by every restore: writes and batches of an older epoch are dropped. */
  readonly epoch: number;
  /** False while the lane is being restored (fenced, position read, seek); its batches are dropped. */
  ready: boolean;
  /** The next offset this lane expects; records below it are replays and are dropped. */
  expected: number | undefined;
  /** The first offset handed over in this assignment: where a lane with no committed position rewinds to. */
  start: number | undefined;
  /** Settles once the lane's latest write is past the bandwidth cap: the next one's turn. */
  turn: Promise<void>;
}

/** What the lanes need of their flow. */
export interface LaneHost {
  readonly source: Pick<FlowSource, 'pause' | 'resume' | 'seek'>;
  readonly queue: Pick<BoundedQueue<WriteItem>, 'isHalted' | 'dropLane'>;
  readonly tracker: Pick<OffsetTracker, 'drop' | 'skip'>;
  readonly metrics: FlowMetrics;
  readonly logger: Logger;
  /** The partition is halted (a halt the flow reported). */
  halted(lane: string): boolean;
  halt(lane: string, error: unknown): void;
  /** A chunk's transaction committed: it counts as written. */
  completed(chunk: WrittenChunk): void;
  /** Records below their lane's position on the target: not written again. */
  replayed(topic: string, count: number): void;
  /** The flow drains or stopped: no lane is restored any more. */
  closing(): boolean;
  /** The flow stopped: a failed transaction is not acted on. */
  stopped(): boolean;
}

/** The target refused for good what a partition needs written: it halts (DESIGN.md invariant 6). */
const refused = (error: unknown) =>
  error instanceof WriteRejectedError ||
  error instanceof TargetTopicMissingError ||
  error instanceof TransactionRejectedError;

/** The lanes of one exactly-once flow. */
export class ExactlyOnceLanes {
  readonly #target: TransactionalTarget;
  readonly #host: LaneHost;
  readonly #lanes = new Map<string, LaneState>();
  #epochs = 0;
  /** Ends the waits of restores between their retries (destroy). */
  readonly #stop = new AbortController();

  constructor(target: TransactionalTarget, host: LaneHost) {
    this.#target = target;
    this.#host = host;
  }

  get(lane: string): LaneState | undefined {
    return this.#lanes.get(lane);
  }

  /**
   * What the lane takes of a fetched batch: undefined while it is being restored (the batch is
   * refused, and the reader must not move past it); otherwise its records at or past the lane's
   * expected offset (those below are replays, counted).
   */
  admit(
    lane: string,
    topic: string,
    records: readonly SourceRecord[],
  ): { state: LaneState; records: readonly SourceRecord[] } | undefined {
    const state = this.#lanes.get(lane);
    if (state === undefined || !state.ready) return undefined;
    if (records.length > 0) state.start ??= Number(records[0]?.offset);
    const expected = state.expected;
    if (expected === undefined || !(Number(records[0]?.offset) < expected)) return { state, records };
    const taken = records.filter((r) => Number(r.offset) >= expected);
    this.#host.replayed(topic, records.length - taken.length);
    return { state, records: taken };
  }

  /**
   * After a join: lanes no longer assigned are released (their open transaction aborted), and
   * every assigned partition is paused until it is restored. kafkajs emits the join before its
   * first fetch, so nothing of the new assignment is read before that.
   */
  restoreAll(assigned: readonly TopicPartition[]): void {
    const now = new Set(assigned.map((tp) => partitionKey(tp.topic, tp.partition)));
    for (const lane of this.#lanes.keys()) {
      if (now.has(lane)) continue;
      const { topic, partition } = fromPartitionKey(lane);
      this.#lanes.delete(lane);
      this.#target.release(topic, partition);
    }
    for (const { topic, partition } of assigned) this.#restoring(topic, partition, 'assigned', undefined);
  }

  /**
   * Writes the chunk in its lane's open transaction, unless the lane was restored since it was
   * read; it completes when that transaction commits. Resolves once the target acknowledged the
   * chunk's records (the queue then frees their room).
   */
  async write(item: WriteItem, source: SourcePosition, throttle?: () => Promise<void>): Promise<void> {
    const lane = partitionKey(item.sourceTopic, item.sourcePartition);
    const state = this.#lanes.get(lane);
    const stale = () => this.#lanes.get(lane)?.epoch !== item.epoch;
    if (state === undefined || stale()) return; // restored since
    // The queue starts a lane's chunks in order, several at once: each passes the bandwidth cap
    // after the one before it, so they reach the target's write (which numbers them) in order.
    const turn = state.turn.then(() => throttle?.());
    state.turn = turn.catch(() => {});
    await turn;
    // Again after the wait: a chunk of an older epoch must never reach the lane's new transaction.
    if (stale()) return;
    const written = await this.#target.write(item.topic, item.partition, item.records, source);
    const { kind, sourceTopic, payload, ticket } = item;
    this.#onCommit(written.committed, lane, item.epoch, {
      kind,
      sourceTopic,
      payload,
      ticket,
      timestamps: item.records.timestamps,
    });
  }

  /**
   * An operator resumed the halted partition (the cause fixed): what is queued for it is dropped
   * and it is restored from its position on the target, as after a failed transaction.
   */
  retry(topic: string, partition: number): void {
    const lane = partitionKey(topic, partition);
    const rewind = this.#lanes.get(lane)?.start;
    this.#host.queue.dropLane(lane);
    this.#host.tracker.drop(lane);
    this.#restoring(topic, partition, 'resumed', rewind);
  }

  /** Commits every open transaction (the flow drains). */
  async flush(): Promise<void> {
    await this.#target.flush();
  }

  /** Restores waiting to retry give up at once (the flow stopped). Idempotent. */
  destroy(): void {
    this.#stop.abort();
  }

  /**
   * Completes the chunk when its transaction commits. Until then only the records' timestamps are
   * kept: the records were sent, and holding them would put memory outside the queue's budget (a
   * separate method, so no closure here can keep the WriteItem alive).
   */
  #onCommit(committed: Promise<void>, lane: string, epoch: number, chunk: WrittenChunk): void {
    committed.then(
      () => this.#host.completed(chunk),
      (error: unknown) => this.#failed(lane, epoch, error),
    );
  }

  /** A new epoch of the lane, not ready: what is queued or fetched for an older one is dropped. */
  #renew(lane: string): LaneState {
    const state: LaneState = {
      epoch: ++this.#epochs,
      ready: false,
      expected: undefined,
      start: undefined,
      turn: Promise.resolve(),
    };
    this.#lanes.set(lane, state);
    return state;
  }

  /**
   * Takes the lane over on the target (fencing every earlier owner of it), reads its committed
   * position there and seeks the source to it. Without a position the group's committed offset
   * (or startFrom) applies on a first assignment, and `rewind` (where this assignment started
   * reading) after a failed transaction. Retried until it succeeds or the lane is restored anew.
   */
  async #restore(
    topic: string,
    partition: number,
    reason: 'assigned' | 'failed' | 'resumed',
    rewind: number | undefined,
  ): Promise<void> {
    const { source, queue, tracker, metrics, logger } = this.#host;
    const lane = partitionKey(topic, partition);
    const state = this.#renew(lane);
    // Before kafkajs's first fetch of the partition (the join event comes first); a reader that
    // is not running cannot pause, and fetches nothing until its next join restores again.
    source.pause(topic, partition);
    metrics.laneRestore(reason);
    const current = () => this.#lanes.get(lane) === state && !this.#host.closing();
    for (let attempt = 0; current(); attempt++) {
      try {
        const position = await this.#target.acquire(topic, partition);
        if (!current()) return;
        const from = position ?? rewind;
        if (from !== undefined) source.seek(topic, partition, from);
        // Everything below the position is committed on the target: the source group may commit
        // it too. An owner that died between its last transaction and its next group commit left
        // the group behind, and a partition with nothing more to read would show that lag forever.
        if (position !== undefined) tracker.skip(lane, position);
        state.expected = from;
        state.start = from;
        state.ready = true;
        if (!queue.isHalted(lane)) source.resume(topic, partition);
        logger.info(
          { topic, partition, position: from ?? null, reason },
          'partition restored from the target',
        );
        return;
      } catch (error) {
        if (!current()) return; // restored anew meanwhile (a newer join or failure) or closing
        // The coordinator refused the lane's transactional id for good (not authorized, ...):
        // asking again gets the same answer. It stays paused and halted until a rebalance or a
        // restart restores it again.
        if (refused(error)) return this.#host.halt(lane, error);
        const retryInMs = backoffMs(attempt, 500, 30_000, { jitter: false });
        metrics.error('target', errorCode(error));
        logger.warn(
          { topic, partition, err: error, retryInMs },
          'cannot restore partition from the target; retrying',
        );
        await sleep(retryInMs, undefined, { signal: this.#stop.signal }).catch(() => {});
      }
    }
  }

  #restoring(
    topic: string,
    partition: number,
    reason: 'assigned' | 'failed' | 'resumed',
    rewind: number | undefined,
  ): void {
    this.#restore(topic, partition, reason, rewind).catch((error: unknown) =>
      this.#host.logger.error({ topic, partition, err: error }, 'partition restore failed'),
    );
  }

  /**
   * A transaction of the lane failed. Fenced or aborted: it is restored and read again from its
   * committed position. Refused for good (a record, the position record of its commit, or a
   * request of its transaction): the partition halts, never restored into the same refusal.
   */
  #failed(lane: string, epoch: number, error: unknown): void {
    const { queue, tracker, logger } = this.#host;
    const state = this.#lanes.get(lane);
    if (state === undefined || state.epoch !== epoch || queue.isHalted(lane)) return;
    if (this.#host.stopped()) return;
    if (refused(error)) {
      if (this.#host.halted(lane)) return;
      // A refused record also fails the queue's worker; a refused commit (the position record,
      // EndTxn) only rejects `committed`, and nothing else would halt the lane: it looked stuck.
      // A new epoch that is never made ready drops what is queued or being written for the lane and
      // refuses what the reader fetched before the pause, until a rebalance restores it.
      // Where this assignment started reading is kept: an operator's retry rewinds there when the
      // target has no position for the lane.
      this.#renew(lane).start = state.start;
      queue.dropLane(lane);
      this.#host.halt(lane, error);
      return;
    }
    const { topic, partition } = fromPartitionKey(lane);
    logger.warn(
      { topic, partition, err: error },
      'transaction failed; restoring the partition from the target',
    );
    queue.dropLane(lane);
    tracker.drop(lane);
    this.#restoring(topic, partition, 'failed', state.start);
  }
}
