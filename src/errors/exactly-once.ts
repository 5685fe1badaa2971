// Errors of exactly-once delivery: transactions, their coordinator and the positions topic.
import { KafkaMirrorError } from './base.ts';

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
