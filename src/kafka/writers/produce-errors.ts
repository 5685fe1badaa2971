// Kafka's answers to a produce request, classified in one place for the three writers (issue 19).
//
// Retriable or not is Kafka's own answer: org.apache.kafka.common.protocol.Errors maps each code to
// an exception class, and the Java producer retries exactly the RetriableException subclasses
// (Sender.canRetry). What a writer does beyond that follows the Java producer too:
// Sender.completeBatch splits a batch answered MESSAGE_TOO_LARGE and reenqueues the halves, takes
// DUPLICATE_SEQUENCE_NUMBER as success, and asks for new metadata after an
// InvalidMetadataException; TransactionManager.canRetry and handleFailedBatch give an idempotent
// producer's partition a new epoch and sequence numbers from 0 after OUT_OF_ORDER_SEQUENCE_NUMBER
// or UNKNOWN_PRODUCER_ID, and make a transaction abortable on those and on fencing. Whatever else
// Kafka marks not retriable fails the batch in Java; here it halts the partition (DESIGN.md
// invariant 6), with what the operator can do about it. Before, anything outside a hand-kept list
// was retried for ever (INVALID_TIMESTAMP stalled a partition without a halt, metric or alert) and
// CORRUPT_MESSAGE, which Kafka retries, halted.
import { TargetTopicMissingError, WriteRejectedError } from '../../errors/index.ts';
import { errorCode } from '../../observability/metrics.ts';
import { sliceChunk, type RecordChunk } from '../../protocol/record-chunk.ts';
import { rootCause } from '../client.ts';

/** What a writer does with an answer. */
export const ProduceAction = {
  /** The broker has the records already: a resend of a batch whose first answer was lost. */
  DONE: 'done',
  /** Send the same request again, after a backoff. */
  RETRY: 'retry',
  /** Too large: send the records in two halves (a single record halts instead). */
  SPLIT: 'split',
  /** Idempotent writes: the broker's sequence state for the producer id is not what the writer sent after. */
  RESEQUENCE: 'resequence',
  /** Transactions: this transaction cannot commit (fenced, aborted by the coordinator, sequence lost). */
  ABORT: 'abort',
  /** Retrying cannot help: the partition halts until an operator fixes the cause. */
  HALT: 'halt',
} as const;
export type ProduceAction = (typeof ProduceAction)[keyof typeof ProduceAction];

export interface ProduceError {
  readonly code: number;
  /** Kafka's name for the code (Errors.java). */
  readonly name: string;
  /** Kafka's verdict: the code's exception class is a RetriableException. */
  readonly retriable: boolean;
  readonly action: ProduceAction;
  /** The code's exception is an InvalidMetadataException: refresh the metadata before the retry. */
  readonly staleMetadata: boolean;
  /** For a halt: what the operator does about it. */
  readonly remedy: string | undefined;
}

/**
 * Codes whose exception class extends RetriableException in Kafka's Errors.java (apache/kafka at
 * 1eb7644, checked against it by test/unit/kafka/writers/produce-errors.test.ts).
 */
const RETRIABLE = new Set([
  2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103,
  106, 122, 123,
]);
/** Of those, the InvalidMetadataException subclasses: the Java producer requests a metadata update. */
const STALE_METADATA = new Set([3, 5, 6, 9, 13, 56, 72, 74, 80, 83, 84, 100, 103]);

const RESTART =
  'then run kafka-mirror resume-partition, or restart kafka-mirror (the partition resumes from its committed offset)';

/**
 * Kafka's names of the codes a produce request can be answered with (ProduceResponse, the broker's
 * ReplicaManager.appendToLocalLog and KafkaApis.handleProduceRequest). Other codes keep the name
 * the client gave them.
 */
const NAMES = new Map<number, string>([
  [-1, 'UNKNOWN_SERVER_ERROR'],
  [2, 'CORRUPT_MESSAGE'],
  [3, 'UNKNOWN_TOPIC_OR_PARTITION'],
  [5, 'LEADER_NOT_AVAILABLE'],
  [6, 'NOT_LEADER_OR_FOLLOWER'],
  [7, 'REQUEST_TIMED_OUT'],
  [8, 'BROKER_NOT_AVAILABLE'],
  [9, 'REPLICA_NOT_AVAILABLE'],
  [10, 'MESSAGE_TOO_LARGE'],
  [13, 'NETWORK_EXCEPTION'],
  [17, 'INVALID_TOPIC_EXCEPTION'],
  [18, 'RECORD_LIST_TOO_LARGE'],
  [19, 'NOT_ENOUGH_REPLICAS'],
  [20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'],
  [21, 'INVALID_REQUIRED_ACKS'],
  [29, 'TOPIC_AUTHORIZATION_FAILED'],
  [31, 'CLUSTER_AUTHORIZATION_FAILED'],
  [32, 'INVALID_TIMESTAMP'],
  [35, 'UNSUPPORTED_VERSION'],
  [42, 'INVALID_REQUEST'],
  [43, 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
  [44, 'POLICY_VIOLATION'],
  [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
  [46, 'DUPLICATE_SEQUENCE_NUMBER'],
  [47, 'INVALID_PRODUCER_EPOCH'],
  [48, 'INVALID_TXN_STATE'],
  [49, 'INVALID_PRODUCER_ID_MAPPING'],
  [51, 'CONCURRENT_TRANSACTIONS'],
  [52, 'TRANSACTION_COORDINATOR_FENCED'],
  [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
  [56, 'KAFKA_STORAGE_ERROR'],
  [59, 'UNKNOWN_PRODUCER_ID'],
  [74, 'FENCED_LEADER_EPOCH'],
  [76, 'UNSUPPORTED_COMPRESSION_TYPE'],
  [87, 'INVALID_RECORD'],
  [90, 'PRODUCER_FENCED'],
  [120, 'TRANSACTION_ABORTABLE'],
]);

/** What the operator does about a refusal that halts a partition (docs/errors.md lists the same). */
const REMEDIES: Readonly<Record<string, string>> = {
  UNKNOWN_SERVER_ERROR: `the target broker failed while appending: its server log says why; fix that, ${RESTART}`,
  MESSAGE_TOO_LARGE: `a single record is larger than the target topic takes: raise the target topic's max.message.bytes to at least the source topic's, ${RESTART}`,
  RECORD_LIST_TOO_LARGE: `a single record is larger than the target topic's segment.bytes: raise it on the target topic, ${RESTART}`,
  INVALID_TIMESTAMP: `the records' timestamps are outside what the target topic takes: raise its message.timestamp.before.max.ms and message.timestamp.after.max.ms (message.timestamp.difference.max.ms before Kafka 3.6), or set its message.timestamp.type=LogAppendTime (the target then stamps records with its own time), ${RESTART}`,
  INVALID_RECORD: `the target topic refused a record as invalid for it (often a record without a key for a compacted topic): make the target topic's cleanup.policy match the source topic's, ${RESTART}`,
  UNSUPPORTED_COMPRESSION_TYPE: `the target does not take the compression codec: set producer.compression to one it supports (zstd needs Kafka 2.1 or later), ${RESTART}`,
  TOPIC_AUTHORIZATION_FAILED: `kafka-mirror's principal may not write to the target topic: grant it WRITE and DESCRIBE on the topic, ${RESTART}`,
  CLUSTER_AUTHORIZATION_FAILED: `kafka-mirror's principal may not write idempotently: grant it IDEMPOTENT_WRITE on the target cluster (brokers before Kafka 3.0), or set producer.maxInFlightPerPartition: 1, ${RESTART}`,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: `exactly-once: kafka-mirror's principal may not use its transactional ids: grant it WRITE and DESCRIBE on transactional ids prefixed with the flow's group (docs/exactly-once.md), ${RESTART}`,
  INVALID_TOPIC_EXCEPTION: `the target takes no writes to this topic (an internal topic, or an invalid name): exclude the topic from the flow, ${RESTART}`,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: `the target topic's message format predates record headers: set its message.format.version to 0.11 or later, or upgrade the brokers, ${RESTART}`,
};

/** Answers about the producer id's sequence state (TransactionManager.canRetry, handleFailedBatch). */
const SEQUENCE = new Set([45, 47, 49, 59]);
/** Answers that end a transaction: the producer epoch is over, or the coordinator ended the transaction. */
const TRANSACTION_OVER = new Set([45, 47, 48, 49, 52, 59, 90, 120]);
const TOO_LARGE = new Set([10, 18]);

const DEFAULT_REMEDY = `see the Kafka error in the target brokers' log and docs/errors.md; fix the cause on the target, ${RESTART}`;

/**
 * What a writer does with a produce answer of error `code`. `transactional`: the request belongs
 * to a transaction (sequence and fencing answers then abort it). `name` names a code unknown here.
 */
export function classifyProduceError(
  code: number,
  options: { transactional?: boolean; name?: string } = {},
): ProduceError {
  const name = NAMES.get(code) ?? options.name ?? `ERROR_CODE_${code}`;
  const retriable = RETRIABLE.has(code);
  const staleMetadata = STALE_METADATA.has(code);
  const action = actionOf(code, retriable, options.transactional === true);
  const remedy =
    action === ProduceAction.HALT || action === ProduceAction.SPLIT
      ? (REMEDIES[name] ?? DEFAULT_REMEDY)
      : undefined;
  return { code, name, retriable, action, staleMetadata, remedy };
}

function actionOf(code: number, retriable: boolean, transactional: boolean): ProduceAction {
  // Sender.completeBatch: the sequence is behind the broker's, so the batch is in the log.
  if (code === 46) return ProduceAction.DONE;
  // Sender.completeBatch splits on MESSAGE_TOO_LARGE; a batch beyond segment.bytes
  // (RECORD_LIST_TOO_LARGE) fits once split too.
  if (TOO_LARGE.has(code)) return ProduceAction.SPLIT;
  if (transactional && TRANSACTION_OVER.has(code)) return ProduceAction.ABORT;
  if (!transactional && SEQUENCE.has(code)) return ProduceAction.RESEQUENCE;
  return retriable ? ProduceAction.RETRY : ProduceAction.HALT;
}

/** The produce answer an error carries (a kafkajs protocol error in its cause chain), if any. */
export function produceErrorOf(
  error: unknown,
  options: { transactional?: boolean } = {},
): ProduceError | undefined {
  const answer = kafkaAnswerOf(error);
  return answer === undefined
    ? undefined
    : classifyProduceError(answer.code, { ...options, name: answer.type });
}

/** kafkajs's code for an error code missing from its table (protocol/error.js unknownErrorCode). */
const KAFKAJS_UNKNOWN = -99;

/**
 * The Kafka error code (and kafkajs's name for it) of a kafkajs protocol error in an error's cause
 * chain, if any. kafkajs's table ends at code 88: a later code (PRODUCER_FENCED 90,
 * TRANSACTION_ABORTABLE 120, ...) comes as code -99 with the real code only in the message, and is
 * read from there.
 */
export function kafkaAnswerOf(error: unknown): { code: number; type: string } | undefined {
  let current = error as {
    name?: unknown;
    type?: unknown;
    code?: unknown;
    message?: unknown;
    cause?: unknown;
  } | null;
  for (let depth = 0; depth < 10 && current !== null && typeof current === 'object'; depth++) {
    const { name, type, code } = current;
    if (
      typeof name === 'string' &&
      name.startsWith('KafkaJS') &&
      typeof type === 'string' &&
      typeof code === 'number'
    ) {
      const unknown =
        code === KAFKAJS_UNKNOWN ? /^Unknown error code (-?\d+)$/.exec(String(current.message)) : null;
      return unknown === null
        ? { code, type }
        : { code: Number(unknown[1]), type: `ERROR_CODE_${unknown[1]}` };
    }
    if (current.cause === current) break;
    current = current.cause as typeof current;
  }
  return undefined;
}

/** Kafka's verdict on an error code: its exception class is a RetriableException (Errors.java). */
export const isRetriable = (code: number): boolean => RETRIABLE.has(code);

/** Kafka's name of an error code a produce request can be answered with (Errors.java), if known here. */
export const kafkaErrorName = (code: number): string | undefined => NAMES.get(code);

/** The error a write fails with when the target refused it for good: the partition halts. */
export const rejected = (topic: string, partition: number, answer: ProduceError, error: unknown) =>
  new WriteRejectedError(topic, partition, answer.name, rootCause(error), answer.remedy);

/**
 * Why a request is sent again, for kafka_mirror_produce_retries_total: Kafka's name of the answer,
 * or for a request without one the client's error (a KM_* code or the error class, as
 * kafka_mirror_errors_total's `code`).
 */
export const resendReason = (error: unknown): string => produceErrorOf(error)?.name ?? errorCode(error);

/** What a writer does next after a produce attempt failed (triageProduce). */
export const ProduceStep = {
  /** The broker has the records already (DONE): the attempt succeeded. */
  DONE: 'done',
  /** Too large, and more than one record: send them in two halves (halvesOf). */
  SPLIT: 'split',
  /** Retrying cannot help (HALT, or a single record too large): fail with `rejected`, the partition halts. */
  REJECT: 'reject',
  /** Transactions: the transaction is over (ABORT); it is aborted and the partition restored. */
  ABORT: 'abort',
  /** Idempotent writes: a new producer id, and what is unacknowledged renumbered (RESEQUENCE). */
  RESEQUENCE: 'resequence',
  /** UNKNOWN_TOPIC_OR_PARTITION: a leader behind, or a topic deleted from the target (missingTopic). */
  CHECK_TOPIC: 'check-topic',
  /** Send again after a backoff (after a metadata refresh if the answer's `staleMetadata` says so). */
  RETRY: 'retry',
} as const;
export type ProduceStep = (typeof ProduceStep)[keyof typeof ProduceStep];

export type ProduceTriage =
  | { readonly step: Exclude<ProduceStep, typeof ProduceStep.RETRY>; readonly answer: ProduceError }
  /** `answer`: undefined for a failure without a Kafka answer (a connection error, a timeout). */
  | { readonly step: typeof ProduceStep.RETRY; readonly answer: ProduceError | undefined };

const UNKNOWN_TOPIC_OR_PARTITION = 3;

/**
 * The one triage of a failed produce attempt of `records` records, for the three writers: what
 * follows from the answer's classification (classifyProduceError). A writer acts on the steps
 * its requests can meet (a producer without a producer id never gets DONE or RESEQUENCE answers;
 * only a transaction gets ABORT) and retries on the others.
 */
export function triageProduce(
  error: unknown,
  options: { readonly records: number; readonly transactional?: boolean },
): ProduceTriage {
  const answer = produceErrorOf(error, { transactional: options.transactional });
  switch (answer?.action) {
    case undefined:
      return { step: ProduceStep.RETRY, answer };
    case ProduceAction.DONE:
      return { step: ProduceStep.DONE, answer };
    case ProduceAction.SPLIT:
      return { step: options.records > 1 ? ProduceStep.SPLIT : ProduceStep.REJECT, answer };
    case ProduceAction.HALT:
      return { step: ProduceStep.REJECT, answer };
    case ProduceAction.ABORT:
      return { step: ProduceStep.ABORT, answer };
    case ProduceAction.RESEQUENCE:
      return { step: ProduceStep.RESEQUENCE, answer };
    case ProduceAction.RETRY:
      return answer.code === UNKNOWN_TOPIC_OR_PARTITION
        ? { step: ProduceStep.CHECK_TOPIC, answer }
        : { step: ProduceStep.RETRY, answer };
  }
}

/** A too-large request's records in two halves, in order (Sender.splitAndReenqueue splits a batch so). */
export function halvesOf(chunk: RecordChunk): [RecordChunk, RecordChunk] {
  const half = Math.ceil(chunk.count / 2);
  return [sliceChunk(chunk, 0, half), sliceChunk(chunk, half, chunk.count)];
}

/**
 * After UNKNOWN_TOPIC_OR_PARTITION (CHECK_TOPIC): a leader whose metadata is behind answers it
 * briefly for a new topic, a deleted topic answers it for good, and the target's topic list tells
 * them apart. The error to fail with when the topic is gone; undefined when it exists, when the
 * check failed (retried) or when there is nobody to ask.
 */
export async function missingTopic(
  topicExists: ((topic: string) => Promise<boolean>) | undefined,
  topic: string,
  partition: number | undefined,
  error: unknown,
): Promise<TargetTopicMissingError | undefined> {
  if (topicExists === undefined || (await topicExists(topic).catch(() => true))) return undefined;
  return new TargetTopicMissingError(topic, partition, rootCause(error));
}
