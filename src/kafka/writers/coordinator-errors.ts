// Answers of a transaction coordinator to the requests of one transactional id, classified in one
// place (issue 19), as Kafka's TransactionManager (clients/.../producer/internals/
// TransactionManager.java, apache/kafka at 1eb7644) handles them in FindCoordinatorHandler,
// InitProducerIdHandler, AddPartitionsToTxnHandler and EndTxnHandler:
// - NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE: find the coordinator again, then retry;
//   every other RetriableException (COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS, ...):
//   retry after a backoff.
// - PRODUCER_FENCED and INVALID_PRODUCER_EPOCH (fatal in Java: another producer has the id),
//   TRANSACTION_ABORTABLE (abortable), UNKNOWN_PRODUCER_ID and INVALID_PRODUCER_ID_MAPPING
//   (abortable once the epoch is bumped), INVALID_TXN_STATE (fatal: the transaction is not in the
//   state the request needs): the producer's epoch or its transaction is over. An application
//   aborts, or closes the producer and makes a new one; a lane does the same by restoring the
//   partition, which initialises the id again (KM_TRANSACTION_FENCED).
// - TRANSACTIONAL_ID_AUTHORIZATION_FAILED (fatal in FindCoordinator, AddPartitionsToTxn and
//   EndTxn, abortable in InitProducerId), CLUSTER_AUTHORIZATION_FAILED (InitProducerId),
//   TOPIC_AUTHORIZATION_FAILED (AddPartitionsToTxn, per partition), INVALID_TRANSACTION_TIMEOUT
//   and any other answer Java treats as fatal or as an unexpected partition error: a new epoch
//   gets the same answer. Java leaves it to the application (an abortable authorization error
//   lets it try again once someone granted the ACL); a daemon that restored the partition got the
//   same refusal again, for ever, with only a warning. Here the partition halts
//   (KM_TRANSACTION_REJECTED) with what to do, as a refused record does (produce-errors.ts).
import { TransactionRejectedError } from '../../errors/index.ts';
import { rootCause } from '../client.ts';
import { isRetriable, kafkaAnswerOf, kafkaErrorName } from './produce-errors.ts';

/** What a transaction does with a coordinator's answer. */
export const CoordinatorAction = {
  /** Send the request again after a backoff (after finding the coordinator again if `findCoordinator`). */
  RETRY: 'retry',
  /** The producer's epoch or its transaction is over: the transaction is lost, the partition restored. */
  RESTORE: 'restore',
  /** Neither retrying nor a new epoch can help: the partition halts until an operator fixes the cause. */
  HALT: 'halt',
} as const;
export type CoordinatorAction = (typeof CoordinatorAction)[keyof typeof CoordinatorAction];

/** The requests of a transactional id that its coordinator answers. */
export type CoordinatorRequest = 'FindCoordinator' | 'InitProducerId' | 'AddPartitionsToTxn' | 'EndTxn';

export interface CoordinatorError {
  readonly code: number;
  /** Kafka's name for the code (Errors.java). */
  readonly name: string;
  /** Kafka's verdict: the code's exception class is a RetriableException. */
  readonly retriable: boolean;
  readonly action: CoordinatorAction;
  /** NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE: look the coordinator up again before the retry. */
  readonly findCoordinator: boolean;
  /**
   * AddPartitionsToTxn answered TOPIC_AUTHORIZATION_FAILED: the topics refused; answered
   * UNKNOWN_TOPIC_OR_PARTITION: the topics the coordinator does not know (a deleted one halts the
   * partition, transactions.ts).
   */
  readonly topics: readonly string[];
}

/** Names of coordinator answers that produce-errors.ts does not name (Errors.java). */
const NAMES = new Map<number, string>([
  [14, 'COORDINATOR_LOAD_IN_PROGRESS'],
  [15, 'COORDINATOR_NOT_AVAILABLE'],
  [16, 'NOT_COORDINATOR'],
  [50, 'INVALID_TRANSACTION_TIMEOUT'],
  [55, 'OPERATION_NOT_ATTEMPTED'],
]);

const FIND_COORDINATOR = new Set([15, 16]);
/**
 * INVALID_PRODUCER_EPOCH, PRODUCER_FENCED, INVALID_TXN_STATE, TRANSACTION_ABORTABLE,
 * UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_ID_MAPPING; and TRANSACTION_COORDINATOR_FENCED and
 * OUT_OF_ORDER_SEQUENCE_NUMBER, which also say that the epoch's transaction is lost.
 */
const EPOCH_OVER = new Set([47, 90, 48, 120, 59, 49, 52, 45]);
const OPERATION_NOT_ATTEMPTED = 55;
const TOPIC_AUTHORIZATION_FAILED = 29;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;

/** What a transaction does with the coordinator's answer `code` (`name`: the client's name for it). */
export function classifyCoordinatorError(code: number, name?: string): CoordinatorError {
  const retriable = isRetriable(code);
  const action = retriable
    ? CoordinatorAction.RETRY
    : // OPERATION_NOT_ATTEMPTED alone (it comes beside the partition that failed): the
      // AddPartitionsToTxnHandler makes the transaction abortable; a new one adds them again.
      EPOCH_OVER.has(code) || code === OPERATION_NOT_ATTEMPTED
      ? CoordinatorAction.RESTORE
      : CoordinatorAction.HALT;
  return {
    code,
    name: kafkaErrorName(code) ?? NAMES.get(code) ?? name ?? `ERROR_CODE_${code}`,
    retriable,
    action,
    findCoordinator: FIND_COORDINATOR.has(code),
    topics: [],
  };
}

/** The coordinator's answer an error carries (a kafkajs protocol error in its cause chain), if any. */
export function coordinatorErrorOf(error: unknown): CoordinatorError | undefined {
  const answer = kafkaAnswerOf(error);
  return answer === undefined ? undefined : classifyCoordinatorError(answer.code, answer.type);
}

/**
 * The answer to AddPartitionsToTxn from its answers per partition, undefined when every partition
 * was added. As AddPartitionsToTxnHandler.handleResponse: the first retriable answer, or one that
 * ends the epoch or the transaction, or TRANSACTIONAL_ID_AUTHORIZATION_FAILED decides at once;
 * otherwise the topics answered TOPIC_AUTHORIZATION_FAILED, all of them; otherwise the first other
 * error. OPERATION_NOT_ATTEMPTED only says that another partition failed (the broker adds none of
 * them then), and decides only alone. UNKNOWN_TOPIC_OR_PARTITION is retried as any retriable
 * answer, with every topic so answered named: Kafka's producer adds a partition to its transaction
 * only once the topic is in its metadata (KafkaProducer.doSend, waitOnMetadata: "Topic not present
 * in metadata" after max.block.ms), so a deleted topic is not retried there for ever; a lane asks
 * whether the topic still exists instead (transactions.ts).
 */
export function addPartitionsError(
  answers: ReadonlyArray<{ topic: string; code: number }>,
): CoordinatorError | undefined {
  const unknown = [
    ...new Set(answers.filter((a) => a.code === UNKNOWN_TOPIC_OR_PARTITION).map((a) => a.topic)),
  ].sort();
  const unauthorized = new Set<string>();
  let other: CoordinatorError | undefined;
  let notAttempted: CoordinatorError | undefined;
  for (const { topic, code } of answers) {
    if (code === 0) continue;
    if (code === TOPIC_AUTHORIZATION_FAILED) unauthorized.add(topic);
    else if (code === OPERATION_NOT_ATTEMPTED) notAttempted ??= classifyCoordinatorError(code);
    else {
      const answer = classifyCoordinatorError(code);
      if (code === UNKNOWN_TOPIC_OR_PARTITION) return { ...answer, topics: unknown };
      if (answer.action !== CoordinatorAction.HALT || code === TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        return answer;
      other ??= answer;
    }
  }
  if (unauthorized.size > 0)
    return { ...classifyCoordinatorError(TOPIC_AUTHORIZATION_FAILED), topics: [...unauthorized].sort() };
  return other ?? notAttempted;
}

const RESTART =
  'then run kafka-mirror resume-partition, restart kafka-mirror or wait for the next rebalance (the partition resumes from its position on the target)';

/** What the operator does about a refusal (docs/errors.md lists the same). */
export function coordinatorRemedy(
  answer: CoordinatorError,
  context: { transactionalId: string; timeoutMs: number },
): string {
  const { transactionalId, timeoutMs } = context;
  switch (answer.name) {
    case 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED':
      return `kafka-mirror's principal may not use the transactional id ${transactionalId}: grant it WRITE and DESCRIBE on TransactionalId with the prefix "${transactionalPrefixOf(transactionalId)}" (pattern type PREFIXED; docs/exactly-once.md lists the ACLs), ${RESTART}`;
    case 'TOPIC_AUTHORIZATION_FAILED': {
      const topics = answer.topics.length > 0 ? answer.topics.join(', ') : 'the topics of the transaction';
      return `kafka-mirror's principal may not write to ${topics} in a transaction: grant it WRITE and DESCRIBE on ${topics} (the positions topic needs READ and CREATE too; docs/exactly-once.md lists the ACLs), ${RESTART}`;
    }
    case 'CLUSTER_AUTHORIZATION_FAILED':
      return `kafka-mirror's principal may not get a producer id from the target: grant it IDEMPOTENT_WRITE on the cluster (brokers before Kafka 3.0), and WRITE and DESCRIBE on TransactionalId with the prefix "${transactionalPrefixOf(transactionalId)}", ${RESTART}`;
    case 'INVALID_TRANSACTION_TIMEOUT':
      return `the flow's transaction.timeoutMs (${timeoutMs}) is above the target brokers' transaction.max.timeout.ms (15 minutes by default): lower transaction.timeoutMs, or raise transaction.max.timeout.ms on every target broker, ${RESTART}`;
    case 'UNSUPPORTED_VERSION':
    case 'UNSUPPORTED_FOR_MESSAGE_FORMAT':
      return `the target brokers do not take kafka-mirror's transaction requests (Kafka 0.11 or later is needed, 3.6 or later recommended): upgrade them, or set the flow's delivery to at-least-once, ${RESTART}`;
    default:
      return `see the Kafka error in the target brokers' log and docs/errors.md; fix the cause on the target, ${RESTART}`;
  }
}

/** The error a request fails with when the coordinator refused it for good: the partition halts. */
export const rejectedTransaction = (
  request: CoordinatorRequest,
  answer: CoordinatorError,
  context: { transactionalId: string; timeoutMs: number },
  error: unknown,
) =>
  new TransactionRejectedError(
    context.transactionalId,
    request,
    answer.name,
    rootCause(error),
    coordinatorRemedy(answer, context),
  );

/**
 * The flow's part of a transactional id, `<group>/`, as the ACL prefix: a lane's id is
 * `<group>/<topic>/<partition>`, and a topic name holds no `/`.
 */
function transactionalPrefixOf(transactionalId: string): string {
  const last = transactionalId.lastIndexOf('/');
  const before = last > 0 ? transactionalId.lastIndexOf('/', last - 1) : -1;
  return before > 0 ? transactionalId.slice(0, before + 1) : transactionalId;
}
