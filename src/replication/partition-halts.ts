// The partitions of a flow halted because the target refused what they need written (or their
// fetched batch was corrupt): halting one, retrying every halted one after a rebalance, and
// resuming them on an operator's request (POST /control/flows/<flow>/resume-partitions) without a
// rebalance. Nothing past a halted record is ever committed (DESIGN.md invariant 6), so a retry
// starts from the last acknowledged offset.
import {
  ControlNotFoundError,
  CorruptRecordBatchError,
  TargetTopicMissingError,
  TransactionRejectedError,
} from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ExportedFlowState } from '../observability/metrics.ts';
import type { BoundedQueue } from './bounded-queue.ts';
import type { WriteItem } from './chunker.ts';
import type { ExactlyOnceLanes } from './exactly-once-lanes.ts';
import type { OffsetTracker } from './offset-tracker.ts';
import { fromPartitionKey, partitionKey, type FlowSource, type TopicPartition } from './ports.ts';

/** A halted partition resumed: where fetching goes on from (exactly once: the target's position). */
export interface ResumedPartition extends TopicPartition {
  readonly from: number | 'target' | 'committed';
}

export interface HaltHost {
  readonly source: Pick<FlowSource, 'pause' | 'resume' | 'seek'>;
  readonly queue: Pick<BoundedQueue<WriteItem>, 'dropLane'>;
  readonly tracker: Pick<OffsetTracker, 'watermark' | 'drop'>;
  readonly lanes: ExactlyOnceLanes | undefined;
  readonly logger: Logger;
  /** The flow's exported state changed (a halt or a resume). */
  readonly changed: () => ExportedFlowState | void;
}

export class PartitionHalts {
  /** Halted partitions (partitionKey) with the reason; FlowStats.halted. */
  readonly halted = new Map<string, string>();
  readonly #host: HaltHost;
  /** Per partition, the first offset handed over in this assignment: where a retry starts without a watermark. */
  readonly #starts = new Map<string, number>();
  /** Per partition, bumped by every operator resume: a batch being queued across one stops there. */
  readonly #eras = new Map<string, number>();

  constructor(host: HaltHost) {
    this.#host = host;
  }

  /** The partition's era now (compare after a wait). */
  era(lane: string): number {
    return this.#eras.get(lane) ?? 0;
  }

  /** A batch of the partition starting at `offset` is being queued. */
  fetched(lane: string, offset: number): void {
    if (!this.#starts.has(lane)) this.#starts.set(lane, offset);
  }

  halt(lane: string, error: unknown, watermark: number | undefined): void {
    const { topic, partition } = fromPartitionKey(lane);
    const reason = error instanceof Error ? error.message : String(error);
    this.halted.set(lane, reason);
    this.#host.changed();
    this.#host.source.pause(topic, partition);
    this.#host.logger.error({ topic, partition, err: error, committedUpTo: watermark }, haltMessage(error));
  }

  /** The reader fetched a batch that failed its check: the partition halts before it. */
  onCorruptBatch(error: CorruptRecordBatchError, watermark: number | undefined): void {
    const lane = partitionKey(error.topic, error.partition);
    // Halted once (not per fetch in flight), but paused every time: an exactly-once restore may
    // have resumed it meanwhile.
    if (this.halted.has(lane)) this.#host.source.pause(error.topic, error.partition);
    else this.halt(lane, error, watermark);
  }

  /**
   * After a group (re)join: a halted partition is retried from its committed offset, wherever it
   * is assigned now: it is either running again or, while the target still refuses the record,
   * halted again (logged, counted). kafkajs keeps a pause across a rejoin, so it is resumed here;
   * a partition now owned by another instance is not fetched here whatever its pause.
   */
  afterJoin(): void {
    for (const [lane, reason] of this.halted) {
      const { topic, partition } = fromPartitionKey(lane);
      this.#host.queue.dropLane(lane);
      this.#host.source.resume(topic, partition);
      this.#host.logger.info(
        { topic, partition, reason },
        'halted partition resumed after a rebalance; retrying from the committed offset',
      );
    }
    this.halted.clear();
    this.#starts.clear();
    this.#host.changed();
  }

  /**
   * An operator fixed the cause: the halted partitions given (every one when none is) are
   * retried at once, without a rebalance. Returns what was resumed; throws
   * ControlNotFoundError for a partition that is not halted here.
   */
  resume(only?: TopicPartition): ResumedPartition[] {
    const lanes = only === undefined ? [...this.halted.keys()] : [partitionKey(only.topic, only.partition)];
    for (const lane of lanes) {
      if (!this.halted.has(lane)) {
        const { topic, partition } = fromPartitionKey(lane);
        throw new ControlNotFoundError(`halted partition ${topic}/${partition} on this instance`);
      }
    }
    const resumed = lanes.map((lane) => this.#resume(lane));
    this.#host.changed();
    return resumed;
  }

  /**
   * Everything of the partition after its last acknowledged record is dropped (queued, or being
   * queued by the reader) and read again: the halted record was never acknowledged, and kafkajs's
   * fetch position may be past it (batches of a halted partition are passed over), so the source
   * is sought back. Exactly once, the lane is restored from its position on the target instead.
   */
  #resume(lane: string): ResumedPartition {
    const { source, queue, tracker, lanes, logger } = this.#host;
    const { topic, partition } = fromPartitionKey(lane);
    const reason = this.halted.get(lane);
    this.halted.delete(lane);
    this.#eras.set(lane, this.era(lane) + 1);
    let from: ResumedPartition['from'];
    if (lanes !== undefined) {
      lanes.retry(topic, partition);
      from = 'target';
    } else {
      queue.dropLane(lane);
      const next = tracker.watermark(lane) ?? this.#starts.get(lane);
      tracker.drop(lane);
      this.#starts.delete(lane);
      // Without either, nothing of the partition was handed over in this assignment: kafkajs's
      // position is still the committed offset.
      if (next !== undefined) source.seek(topic, partition, next);
      source.resume(topic, partition);
      from = next ?? 'committed';
    }
    logger.info({ topic, partition, from, reason }, 'halted partition resumed by an operator');
    return { topic, partition, from };
  }
}

/** The log line of a halt, by its cause. */
function haltMessage(error: unknown): string {
  if (error instanceof TargetTopicMissingError)
    return 'partition halted: the target topic was deleted; nothing past it will be committed';
  if (error instanceof CorruptRecordBatchError)
    return 'partition halted: a fetched record batch is corrupt; nothing past it will be committed';
  if (error instanceof TransactionRejectedError)
    return 'partition halted: the target refused its transaction; nothing past it will be committed';
  return 'partition halted: the target refused a record; nothing past it will be committed';
}
