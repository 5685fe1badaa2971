// Errors of reading the source: fetched bytes, batches and commits to the source group.
import { KafkaMirrorError } from './base.ts';

/**
 * The source group did not acknowledge a commit of watermarks: the flow's consumer was not in its
 * group (stopped, restarting after a crash), so nothing was sent. Nothing is marked committed; the
 * next commit sends the same watermarks.
 */
export class CommitNotAcknowledgedError extends KafkaMirrorError {
  static readonly code = 'KM_COMMIT_UNACKNOWLEDGED';
  readonly partitions: number;
  constructor(partitions: number) {
    super(
      CommitNotAcknowledgedError.code,
      `the source group did not acknowledge the commit of ${partitions} partition(s): the consumer is not in its group; the next commit sends it again`,
      { retriable: true },
    );
    this.partitions = partitions;
  }
}

/**
 * A record batch fetched from the source failed its check (CRC-32C, size or magic byte, as
 * Kafka's consumer with check.crcs): corrupted on the broker's disk or on the way. Never copied;
 * the partition halts before it, and nothing from it on is committed.
 */
export class CorruptRecordBatchError extends KafkaMirrorError {
  static readonly code = 'KM_CORRUPT_RECORD_BATCH';
  readonly topic: string;
  readonly partition: number;
  /** The base offset of the batch. */
  readonly offset: number;
  constructor(topic: string, partition: number, offset: number, reason: string) {
    super(
      CorruptRecordBatchError.code,
      `record batch of ${topic}/${partition} at offset ${offset} is corrupt (${reason}); the partition halts before it`,
    );
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}

/**
 * Bytes read from a broker connection cannot be a Kafka response: a size that is negative, above
 * the largest response (MAX_RESPONSE_BYTES, src/protocol/response-reader.ts), or too small for a
 * correlation id. Nothing after it can be read: the connection is closed, its requests fail
 * retriably and the client reconnects.
 */
export class ResponseFramingError extends KafkaMirrorError {
  static readonly code = 'KM_RESPONSE_FRAMING';
  /** The size read. */
  readonly size: number;
  constructor(detail: string, size: number) {
    super(ResponseFramingError.code, `not a Kafka response: ${detail}`, { retriable: true });
    this.size = size;
  }
}

/**
 * The records of a fetched batch whose check passed (CRC-32C, size, magic: the bytes are the ones
 * the producer wrote) are not valid data of its codec (lz4, snappy): the producer's compressor
 * wrote them so, or they claim to expand beyond what the codec can. Retriable as kafkajs treats
 * an error of a fetch: fetched again, then the source consumer restarts (src/kafka/source-reader.ts).
 */
export class InvalidCompressedDataError extends KafkaMirrorError {
  static readonly code = 'KM_INVALID_COMPRESSED_DATA';
  readonly codec: string;
  constructor(codec: 'lz4' | 'snappy', detail: string) {
    super(InvalidCompressedDataError.code, `invalid ${codec} data: ${detail}`, { retriable: true });
    this.codec = codec;
  }
}

/**
 * A single-partition read_committed read (src/kafka/raw-client.ts: offset translation, verify,
 * exactly-once positions) could not go on at an offset: the fetch made no progress, brought no
 * complete record batch before the partition's end, or the answer lacked the partition. Not
 * retriable by itself: the caller's step fails (a command exits 1; a daemon task logs and retries
 * at its next pass).
 */
export class FetchIncompleteError extends KafkaMirrorError {
  static readonly code = 'KM_FETCH_INCOMPLETE';
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  constructor(topic: string, partition: number, offset: number, detail: string) {
    super(FetchIncompleteError.code, `${topic}/${partition}: reading at offset ${offset}: ${detail}`);
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
  }
}
