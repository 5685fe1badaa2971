// The one contract of the target writers: the one-at-a-time writer (target-writer.ts), the
// pipelined idempotent writer (idempotent-writer.ts) and the transactional writer
// (transactional-writer.ts). The daemon builds one per flow and knows it only through this.
import type { TargetCompression } from '../../config/index.ts';
import type { Logger } from '../../observability/logger.ts';
import type { FlowTarget, TransactionalTarget } from '../../replication/ports.ts';

/** What every writer has besides its port (FlowTarget or TransactionalTarget). */
export interface WriterLifecycle {
  /** Connects to the target (the transactional writer also prepares its positions topic). */
  connect(): Promise<void>;
  /** Since when the oldest request in flight has waited for the target, if any (readiness). */
  pendingSince(): number | undefined;
  /** Lets what is in flight finish (or fail), then closes the connections. Idempotent. */
  close(): Promise<void>;
  /** Stops at once: writes in flight reject (WriterClosedError), then the connections close. Idempotent; close() after it resolves. */
  destroy(): Promise<void>;
}

export type Writer = (FlowTarget | TransactionalTarget) & WriterLifecycle;

/** The options of the at-least-once writers (TargetWriter, IdempotentWriter). */
export interface WriterOptions {
  compression: TargetCompression;
  /** Record bytes per produce request for one partition; larger writes are split. */
  maxRequestBytes: number;
  requestTimeoutMs: number;
  /** Produce requests in flight per partition (IdempotentWriter; TargetWriter sends one at a time). */
  maxInFlightPerPartition?: number;
  logger: Logger;
  /** Called for every failed produce attempt that will be retried. */
  onRetry?: (error: unknown) => void;
  /**
   * Called for every produce request sent again (after a backoff, right behind an earlier one, or
   * split in halves), with why: kafka_mirror_produce_retries_total's `reason` (produce-errors.ts resendReason).
   */
  onResend?: (reason: string) => void;
  /**
   * Asked when the target answers UNKNOWN_TOPIC_OR_PARTITION: false means the topic was deleted,
   * and the write rejects with TargetTopicMissingError instead of retrying forever.
   */
  topicExists?: (topic: string) => Promise<boolean>;
}
