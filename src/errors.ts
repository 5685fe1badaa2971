// Every failure the daemon reports has a class with a stable code (KM_*), a `retriable` flag and
// a `cause`. Callers branch on the code, never on the message. docs/errors.md lists every code.

export const errorCodes = [
  'KM_USAGE',
  'KM_CONFIG',
  'KM_WRITE_REJECTED',
  'KM_TARGET_TOPIC_MISSING',
  'KM_SHUTDOWN_TIMEOUT',
  'KM_CLUSTER_IDENTITY',
  'KM_ADMIN_LISTEN',
  'KM_GROUP_ACTIVE',
  'KM_TRANSACTION_FENCED',
  'KM_CORRUPT_RECORD_BATCH',
  'KM_COMMIT_UNACKNOWLEDGED',
  'KM_RESPONSE_FRAMING',
  'KM_TRANSACTION_REJECTED',
  'KM_INTERNAL_INVARIANT',
  'KM_INVALID_COMPRESSED_DATA',
  'KM_CLUSTER_NO_ANSWER',
  'KM_NOT_FOUND',
  'KM_TRANSLATION_FAILED',
  'KM_GROUP_SYNC_FAILED',
  'KM_EARLIER_WRITE_FAILED',
  'KM_WRITER_CLOSED',
  'KM_PRODUCE_UNACKNOWLEDGED',
  'KM_METADATA_UNAVAILABLE',
  'KM_COORDINATOR_RETRIABLE',
  'KM_LANE_TARGET_MISMATCH',
  'KM_POSITIONS_UNREADABLE',
  'KM_UNKNOWN_CLUSTER',
  'KM_KAFKAJS_PATCH',
  'KM_FETCH_INCOMPLETE',
  'KM_QUEUE_CLOSED',
  'KM_LANE_DROPPED',
  'KM_DRAIN_TIMEOUT',
  'KM_INVALID_ARGUMENT',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class KafkaMirrorError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** The command line was wrong: unknown command or flag, missing argument. Exit code 2. */
export class UsageError extends KafkaMirrorError {
  static readonly code = 'KM_USAGE';
  constructor(message: string) {
    super(UsageError.code, message);
  }
}

/** The configuration is invalid. Lists every problem, each with its key path. Exit code 2. */
export class ConfigError extends KafkaMirrorError {
  static readonly code = 'KM_CONFIG';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(
      ConfigError.code,
      `invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

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

/** Draining did not finish within shutdown.timeoutMs; uncommitted records are replayed on restart. */
export class ShutdownTimeoutError extends KafkaMirrorError {
  static readonly code = 'KM_SHUTDOWN_TIMEOUT';
  constructor(timeoutMs: number) {
    super(ShutdownTimeoutError.code, `shutdown did not complete within ${timeoutMs} ms`);
  }
}

/**
 * Two aliases of the config reach the same Kafka cluster (same cluster id). Provenance and the
 * loop guard identify clusters by id, so this is refused at start. Exit code 2.
 */
export class ClusterIdentityError extends KafkaMirrorError {
  static readonly code = 'KM_CLUSTER_IDENTITY';
  constructor(clusterId: string, aliases: readonly string[]) {
    super(
      ClusterIdentityError.code,
      `clusters ${aliases.map((a) => `"${a}"`).join(' and ')} are the same Kafka cluster (cluster id ${clusterId}); each alias must name a different cluster`,
    );
  }
}

/** The admin HTTP server cannot bind its address (port in use, no permission). Exit code 1. */
export class AdminListenError extends KafkaMirrorError {
  static readonly code = 'KM_ADMIN_LISTEN';
  constructor(host: string, port: number, cause: Error) {
    super(
      AdminListenError.code,
      `admin server cannot listen on ${host}:${port}: ${cause.message} (set admin.host / admin.port)`,
      { cause },
    );
  }
}

/**
 * `offsets failover` was asked to write a consumer group's offsets on the target while the group
 * has active members there (whose positions must not be overwritten). Exit code 1.
 */
export class GroupActiveError extends KafkaMirrorError {
  static readonly code = 'KM_GROUP_ACTIVE';
  constructor(group: string, members: number) {
    super(
      GroupActiveError.code,
      `group ${group} has ${members} active member(s) on the target: its offsets are not written while consumers run there; stop them first`,
    );
  }
}

/**
 * Exactly-once: a partition's transactional id was taken over (another instance, or a newer
 * epoch of this one, initialised it) or its transaction was aborted by the coordinator. The
 * transaction is lost, never committed; the partition is restored from its position on the target.
 */
export class TransactionFencedError extends KafkaMirrorError {
  static readonly code = 'KM_TRANSACTION_FENCED';
  readonly transactionalId: string;
  constructor(transactionalId: string, cause: unknown) {
    super(
      TransactionFencedError.code,
      `transactional id ${transactionalId} was fenced or its transaction aborted; the partition is restored from the target`,
      { cause, retriable: true },
    );
    this.transactionalId = transactionalId;
  }
}

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
 * Exactly-once: the target refused a request of a partition's transaction for a reason retrying
 * cannot fix: the transaction coordinator's answer to FindCoordinator, InitProducerId,
 * AddPartitionsToTxn or EndTxn is one Kafka's TransactionManager does not retry and that a new
 * producer epoch does not cure (not authorized for the transactional id or for a topic of the
 * transaction, a transaction timeout above the brokers' maximum, ...;
 * src/kafka/writers/coordinator-errors.ts). The partition halts; nothing past it is committed. `remedy`
 * says what the operator does about it.
 */
export class TransactionRejectedError extends KafkaMirrorError {
  static readonly code = 'KM_TRANSACTION_REJECTED';
  readonly transactionalId: string;
  /** The request refused (FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn). */
  readonly request: string;
  readonly kafkaError: string;
  readonly remedy: string;
  constructor(transactionalId: string, request: string, kafkaError: string, cause: unknown, remedy: string) {
    super(
      TransactionRejectedError.code,
      `target refused ${request} of transactional id ${transactionalId}: ${kafkaError}; ${remedy}`,
      { cause },
    );
    this.transactionalId = transactionalId;
    this.request = request;
    this.kafkaError = kafkaError;
    this.remedy = remedy;
  }
}

/**
 * Something kafka-mirror holds true of its own code did not hold: an encoder wrote a different
 * number of bytes than it measured, a codec it registered is missing, a validated config names a
 * cluster it does not have. A bug, never a condition of the clusters or the data: report it with
 * the message. Not retriable: the same input fails the same way (as kafkajs treats a TypeError).
 */
export class InternalInvariantError extends KafkaMirrorError {
  static readonly code = 'KM_INTERNAL_INVARIANT';
  constructor(detail: string) {
    super(
      InternalInvariantError.code,
      `${detail} (an internal invariant of kafka-mirror failed: a bug, please report it with this message)`,
    );
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
 * A look at a cluster (src/kafka/cluster-probe.ts: at start, while it is unreachable, for `plan`)
 * had no answer within connectionTimeoutMs x (bootstrap brokers + 2): a broker accepted the
 * connection and never answered. The cluster counts as unreachable; the daemon probes it again.
 */
export class ClusterNoAnswerError extends KafkaMirrorError {
  static readonly code = 'KM_CLUSTER_NO_ANSWER';
  readonly limitMs: number;
  constructor(limitMs: number) {
    super(ClusterNoAnswerError.code, `no answer within ${limitMs} ms`, { retriable: true });
    this.limitMs = limitMs;
  }
}

/** `verify` was asked about a flow (--flow) or source topic (--topic) that is not there. Exit code 1. */
export class NotFoundError extends KafkaMirrorError {
  static readonly code = 'KM_NOT_FOUND';
  constructor(what: string) {
    super(NotFoundError.code, `no ${what}`);
  }
}

/**
 * A consumer group's committed offset could not be translated to the target: the target partition
 * holds a record replicated from that offset or later (its last), yet the search through its
 * km.src.offset headers found none (src/offsets/translate.ts). The target changed under the search
 * (retention, truncation), or its records are not in source order. Nothing is committed.
 */
export class TranslationFailedError extends KafkaMirrorError {
  static readonly code = 'KM_TRANSLATION_FAILED';
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, committed: number, last: number) {
    super(
      TranslationFailedError.code,
      `${topic}/${partition}: no record from source offset ${committed} on, yet its last is ${last}`,
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/**
 * `offsets failover` could not sync the group: translating its offsets or committing them on the
 * target failed (`cause`). Nothing or only part of the group's offsets was committed, each only
 * forward; running it again is safe. Exit code 1.
 */
export class GroupSyncFailedError extends KafkaMirrorError {
  static readonly code = 'KM_GROUP_SYNC_FAILED';
  readonly group: string;
  constructor(group: string, cause: unknown) {
    super(GroupSyncFailedError.code, `group ${group}: ${String(cause)}`, {
      cause,
      retriable: (cause as { retriable?: unknown } | null)?.retriable === true,
    });
    this.group = group;
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
 * Exactly-once: a transaction coordinator answered a request with an error Kafka retries that the
 * client does not mark retriable (a code newer than kafkajs, ...;
 * src/kafka/writers/coordinator-errors.ts). Retried with backoff; `cause` is the answer.
 */
export class CoordinatorRetriableError extends KafkaMirrorError {
  static readonly code = 'KM_COORDINATOR_RETRIABLE';
  /** The request answered (InitProducerId, AddPartitionsToTxn, EndTxn, FindCoordinator). */
  readonly request: string;
  readonly kafkaError: string;
  constructor(request: string, kafkaError: string, cause: unknown) {
    super(CoordinatorRetriableError.code, `${request}: ${kafkaError}`, { cause, retriable: true });
    this.request = request;
    this.kafkaError = kafkaError;
  }
}

/**
 * Exactly-once: a lane (source partition) was asked to write to a second target partition within
 * one transaction, which its transaction does not cover. Not expected (a source partition maps to
 * one target partition); the transaction is aborted and the partition restored from the target.
 */
export class LaneTargetMismatchError extends KafkaMirrorError {
  static readonly code = 'KM_LANE_TARGET_MISMATCH';
  constructor(topic: string, partition: number) {
    super(LaneTargetMismatchError.code, `lane ${topic}/${partition} cannot write to a second partition`, {
      retriable: true,
    });
  }
}

/**
 * Exactly-once: the committed source positions could not be read from the positions topic on the
 * target (its last stable offset stayed behind its end for twice the transaction timeout, or no
 * committed batch was found where one must be). Taking the partition over is retried.
 */
export class PositionsUnreadableError extends KafkaMirrorError {
  static readonly code = 'KM_POSITIONS_UNREADABLE';
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, detail: string) {
    super(PositionsUnreadableError.code, `${topic}/${partition}: ${detail}`, { retriable: true });
    this.topic = topic;
    this.partition = partition;
  }
}

/**
 * A flow names a cluster alias the configuration does not define. Validation refuses such a
 * configuration, so this says the daemon was handed one that was not validated: a bug.
 */
export class UnknownClusterError extends KafkaMirrorError {
  static readonly code = 'KM_UNKNOWN_CLUSTER';
  readonly alias: string;
  constructor(alias: string) {
    super(UnknownClusterError.code, `no cluster ${alias} in the configuration`);
    this.alias = alias;
  }
}

/**
 * A patch of kafkajs's internals (src/kafka/kafkajs/) cannot take effect: kafkajs was loaded
 * before src/kafka/kafkajs/index.ts applied them (a module imported kafkajs some other way), a
 * kafkajs module that captures a replaced module had loaded before the replacement, or records
 * reached code that needs the patched decoder without going through it. A defect of the build or
 * of the installed kafkajs, never of the data: not retriable. `patch` names the patch file.
 */
export class KafkaJsPatchError extends KafkaMirrorError {
  static readonly code = 'KM_KAFKAJS_PATCH';
  /** The patch file under src/kafka/kafkajs/ that cannot take effect. */
  readonly patch: string;
  constructor(patch: string, detail: string) {
    super(KafkaJsPatchError.code, `kafkajs patch src/kafka/kafkajs/${patch}: ${detail}`);
    this.patch = patch;
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

/**
 * A push into a flow's bounded queue after it was closed (the flow drains or was destroyed), or a
 * push still waiting for room when it closed. Nothing of it was queued; what the queue admitted
 * before is still written.
 */
export class QueueClosedError extends KafkaMirrorError {
  static readonly code = 'KM_QUEUE_CLOSED';
  constructor() {
    super(QueueClosedError.code, 'the queue is closed');
  }
}

/**
 * A push waiting for room in a flow's bounded queue when its lane was dropped (its partition was
 * reassigned or restored, and is read again from its committed position). The flow catches it:
 * what was being queued is stale and is not written.
 */
export class LaneDroppedError extends KafkaMirrorError {
  static readonly code = 'KM_LANE_DROPPED';
  readonly lane: string;
  constructor(lane: string) {
    super(LaneDroppedError.code, `the queue lane ${JSON.stringify(lane)} was dropped`, { retriable: true });
    this.lane = lane;
  }
}

/**
 * A flow did not drain (write what its queue admitted, commit its watermarks) within the time it
 * was given to close. What was not committed is replayed by the next run (duplicates, never loss).
 */
export class DrainTimeoutError extends KafkaMirrorError {
  static readonly code = 'KM_DRAIN_TIMEOUT';
  readonly flow: string;
  readonly timeoutMs: number;
  constructor(flow: string, timeoutMs: number) {
    super(DrainTimeoutError.code, `flow ${flow} did not drain within ${timeoutMs} ms`);
    this.flow = flow;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A component was given an argument outside its contract (a flow given a target of another
 * delivery than its config's, a rate limiter a rate that is not positive). A bug of kafka-mirror:
 * configuration validation refuses whatever an operator could write to cause it.
 */
export class InvalidArgumentError extends KafkaMirrorError {
  static readonly code = 'KM_INVALID_ARGUMENT';
  constructor(message: string) {
    super(InvalidArgumentError.code, message);
  }
}
