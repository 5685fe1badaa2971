// Errors of writing the target (at-least-once writers, and the produce requests of exactly-once ones).
import { KafkaMirrorError } from './base.ts';

/**
 * The target refused a record for a reason retrying cannot fix: an error Kafka marks not retriable
 * (too large for the topic's max.message.bytes, a timestamp the topic does not take, not
 * authorized, ...; src/kafka/writers/produce-errors.ts). The partition halts; nothing past it is
 * committed. `remedy` says what the operator does about it.
 */
export class WriteRejectedError extends KafkaMirrorError {
  static readonly code = 'KM_WRITE_REJECTED';
  readonly topic: string;
  readonly partition: number;
  readonly kafkaError: string;
  readonly remedy: string | undefined;
  constructor(topic: string, partition: number, kafkaError: string, cause: unknown, remedy?: string) {
    super(
      WriteRejectedError.code,
      `target refused a record of ${topic}/${partition}: ${kafkaError}${remedy === undefined ? '' : `; ${remedy}`}`,
      { cause },
    );
    this.topic = topic;
    this.partition = partition;
    this.kafkaError = kafkaError;
    this.remedy = remedy;
  }
}

/**
 * The remote topic of a topic this flow has replicated before (its group has committed offsets)
 * is gone from the target: deleted. It is never recreated silently, since what was replicated
 * into it is lost with it; the partition halts and nothing past it is committed.
 */
export class TargetTopicMissingError extends KafkaMirrorError {
  static readonly code = 'KM_TARGET_TOPIC_MISSING';
  readonly topic: string;
  readonly partition: number | undefined;
  constructor(topic: string, partition: number | undefined, cause?: unknown) {
    super(
      TargetTopicMissingError.code,
      `target topic ${topic} does not exist (deleted after this flow replicated into it); not recreating it`,
      { cause },
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/**
 * A write to a target partition was not sent because a write before it in the same partition
 * failed for good (src/kafka/writers/idempotent-writer.ts): the records after a refused one can
 * never be appended in order. The partition halts at the first failure (`cause`); the writes
 * behind it fail with this until none of them is left in flight.
 */
export class EarlierWriteFailedError extends KafkaMirrorError {
  static readonly code = 'KM_EARLIER_WRITE_FAILED';
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, cause: Error) {
    super(
      EarlierWriteFailedError.code,
      `a write before this one to ${topic}/${partition} failed: ${cause.message}`,
      { cause },
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/**
 * A write, or an open exactly-once transaction, ended because its writer was closed or destroyed
 * (shutdown, or a flow restarting). Nothing of it is committed past the last watermark; it is
 * written again after the restart.
 */
export class WriterClosedError extends KafkaMirrorError {
  static readonly code = 'KM_WRITER_CLOSED';
  constructor() {
    super(WriterClosedError.code, 'the writer is closed');
  }
}

/**
 * The target answered a produce request without an acknowledgement of the partition it was for
 * (kafkajs drops a message for a partition its metadata does not know yet, and may resolve a send
 * without a partition whose leader moved). Retried, with the metadata refreshed.
 */
export class ProduceUnacknowledgedError extends KafkaMirrorError {
  static readonly code = 'KM_PRODUCE_UNACKNOWLEDGED';
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number) {
    super(
      ProduceUnacknowledgedError.code,
      `produce response for ${topic}/${partition} did not acknowledge the partition`,
      { retriable: true },
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/** The client's metadata names no broker for a request yet (just connected, or brokers moving): refreshed and retried. */
export class MetadataUnavailableError extends KafkaMirrorError {
  static readonly code = 'KM_METADATA_UNAVAILABLE';
  constructor(detail: string, cause?: unknown) {
    super(MetadataUnavailableError.code, detail, { retriable: true, cause });
  }
}

/**
 * The target refused to change a remote topic's configs as topic config sync asked, or to describe
 * them (IncrementalAlterConfigs or DescribeConfigs answered `kafkaError` for the topic: TOPIC_AUTHORIZATION_FAILED,
 * CLUSTER_AUTHORIZATION_FAILED, INVALID_CONFIG, POLICY_VIOLATION, ...). None of the topic's changes
 * of that request was applied (the broker applies a topic's changes together or not at all);
 * replication goes on, and the next refresh asks again.
 */
export class TopicConfigRefusedError extends KafkaMirrorError {
  static readonly code = 'KM_TOPIC_CONFIG_REFUSED';
  readonly topic: string;
  readonly kafkaError: string;
  /** The configs the refused request would have changed. */
  readonly configs: readonly string[];
  /** `configs` empty: the target refused to describe the topic's configs (DescribeConfigs). */
  constructor(topic: string, kafkaError: string, detail: string | null, configs: readonly string[]) {
    const what = configs.length === 0 ? 'describe the configs' : `change configs ${configs.join(', ')}`;
    super(
      TopicConfigRefusedError.code,
      `target refused to ${what} of topic ${topic}: ${kafkaError}${detail === null || detail === '' ? '' : ` (${detail})`}`,
    );
    this.topic = topic;
    this.kafkaError = kafkaError;
    this.configs = configs;
  }
}

/** A broker's answer could not be read as its API's schema defines it (cut short, or wrong). */
export class MalformedResponseError extends KafkaMirrorError {
  static readonly code = 'KM_MALFORMED_RESPONSE';
  constructor(api: string, cause: unknown) {
    super(MalformedResponseError.code, `the broker's ${api} answer cannot be read`, { cause });
  }
}
