// The one classification of a transaction coordinator's answers (src/kafka/writers/coordinator-errors.ts)
// against Kafka's error table and against what TransactionManager's FindCoordinatorHandler,
// InitProducerIdHandler, AddPartitionsToTxnHandler and EndTxnHandler do with each answer: retry
// (RetriableException, after a new lookup for NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE),
// restore (the epoch or the transaction is over), or halt with what to do (everything else: a new
// epoch gets the same answer).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';
import {
  addPartitionsError,
  classifyCoordinatorError,
  CoordinatorAction,
  coordinatorErrorOf,
  coordinatorRemedy,
} from '../../../../src/kafka/writers/coordinator-errors.ts';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error;
};

const table = (
  JSON.parse(
    readFileSync(new URL('../../../support/fixtures/kafka-errors.json', import.meta.url), 'utf8'),
  ) as {
    errors: Array<{ code: number; name: string; retriable: boolean }>;
  }
).errors;
const codeOf = (name: string) => {
  const entry = table.find((e) => e.name === name);
  assert.ok(entry !== undefined, `${name} is in Kafka's table`);
  return entry.code;
};

const { RETRY, RESTORE, HALT } = CoordinatorAction;

/**
 * The answers TransactionManager's handlers name, with what a lane does: Java's "fatal" and
 * "abortable" answers that a new producer epoch cures restore the partition; those it does not
 * cure (authorization, configuration, unexpected) halt it.
 */
const HANDLED: Record<string, (typeof CoordinatorAction)[keyof typeof CoordinatorAction]> = {
  NOT_COORDINATOR: RETRY, // lookupCoordinator, reenqueue
  COORDINATOR_NOT_AVAILABLE: RETRY,
  COORDINATOR_LOAD_IN_PROGRESS: RETRY, // a RetriableException: reenqueue
  CONCURRENT_TRANSACTIONS: RETRY, // AddPartitionsToTxn: reenqueue after a short backoff
  UNKNOWN_TOPIC_OR_PARTITION: RETRY,
  PRODUCER_FENCED: RESTORE, // fatal: another producer has the id
  INVALID_PRODUCER_EPOCH: RESTORE, // fatal, as PRODUCER_FENCED
  TRANSACTION_ABORTABLE: RESTORE, // abortable
  UNKNOWN_PRODUCER_ID: RESTORE, // abortableErrorIfPossible: the epoch is bumped
  INVALID_PRODUCER_ID_MAPPING: RESTORE,
  INVALID_TXN_STATE: RESTORE, // fatal; a new epoch completes or aborts the old transaction
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: HALT, // fatal (abortable in InitProducerId): grant the ACL
  CLUSTER_AUTHORIZATION_FAILED: HALT, // InitProducerId: abortable, same answer again
  TOPIC_AUTHORIZATION_FAILED: HALT, // AddPartitionsToTxn: abortable, same answer again
  INVALID_TRANSACTION_TIMEOUT: HALT, // InitProducerId: fatal ("unexpected error")
  UNSUPPORTED_VERSION: HALT, // fatal (versionMismatch)
  UNKNOWN_SERVER_ERROR: HALT, // fatal in InitProducerId and EndTxn
};

test("every answer TransactionManager's handlers name gets the action above, named as Kafka names it", () => {
  for (const [name, action] of Object.entries(HANDLED)) {
    const answer = classifyCoordinatorError(codeOf(name));
    assert.equal(answer.name, name, `${codeOf(name)} is named without help`);
    assert.equal(answer.action, action, name);
  }
  assert.equal(classifyCoordinatorError(codeOf('NOT_COORDINATOR')).findCoordinator, true);
  assert.equal(classifyCoordinatorError(codeOf('COORDINATOR_NOT_AVAILABLE')).findCoordinator, true);
  assert.equal(classifyCoordinatorError(codeOf('COORDINATOR_LOAD_IN_PROGRESS')).findCoordinator, false);
});

test('any other answer is retried exactly when Kafka retries it, and halts otherwise', () => {
  for (const error of table) {
    const answer = classifyCoordinatorError(error.code, error.name);
    assert.equal(answer.retriable, error.retriable, error.name);
    if (error.name in HANDLED || error.name === 'OPERATION_NOT_ATTEMPTED') continue;
    assert.equal(
      answer.action,
      error.retriable
        ? RETRY
        : ['TRANSACTION_COORDINATOR_FENCED', 'OUT_OF_ORDER_SEQUENCE_NUMBER'].includes(error.name)
          ? RESTORE
          : HALT,
      error.name,
    );
  }
});

test('AddPartitionsToTxn is answered per partition, as AddPartitionsToTxnHandler reads it', () => {
  const ok = { topic: 'orders', code: 0 };
  const notAttempted = { topic: 'orders', code: codeOf('OPERATION_NOT_ATTEMPTED') };
  const unauthorized = (topic: string) => ({ topic, code: codeOf('TOPIC_AUTHORIZATION_FAILED') });
  assert.equal(addPartitionsError([ok, { topic: 'p', code: 0 }]), undefined);
  // The refused topics, whichever partition the answer lists first.
  for (const answers of [
    [notAttempted, unauthorized('positions')],
    [unauthorized('positions'), notAttempted],
  ]) {
    const answer = addPartitionsError(answers);
    assert.equal(answer?.name, 'TOPIC_AUTHORIZATION_FAILED');
    assert.equal(answer?.action, HALT);
    assert.deepEqual(answer?.topics, ['positions']);
  }
  assert.deepEqual(addPartitionsError([unauthorized('b'), unauthorized('a')])?.topics, ['a', 'b']);
  // A retriable answer or one that ends the epoch decides at once, before the refused topics.
  const concurrent = { topic: 'orders', code: codeOf('CONCURRENT_TRANSACTIONS') };
  assert.equal(addPartitionsError([unauthorized('p'), concurrent])?.action, RETRY);
  const fenced = { topic: 'orders', code: codeOf('PRODUCER_FENCED') };
  assert.equal(addPartitionsError([unauthorized('p'), fenced])?.action, RESTORE);
  // TRANSACTIONAL_ID_AUTHORIZATION_FAILED is fatal at once; an unexpected error only after the topics.
  const id = { topic: 'orders', code: codeOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED') };
  assert.equal(addPartitionsError([unauthorized('p'), id])?.name, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
  const unexpected = { topic: 'orders', code: codeOf('INVALID_REQUEST') };
  assert.equal(addPartitionsError([unexpected, unauthorized('p')])?.name, 'TOPIC_AUTHORIZATION_FAILED');
  assert.equal(addPartitionsError([notAttempted, unexpected])?.name, 'INVALID_REQUEST');
  // OPERATION_NOT_ATTEMPTED alone: the transaction is abortable, a new one adds the partitions again.
  assert.equal(addPartitionsError([notAttempted])?.action, RESTORE);
});

test('AddPartitionsToTxn answered UNKNOWN_TOPIC_OR_PARTITION is retried and names the unknown topics (a deleted one halts, transactions.ts)', () => {
  const unknown = (topic: string) => ({ topic, code: codeOf('UNKNOWN_TOPIC_OR_PARTITION') });
  const notAttempted = { topic: 'positions', code: codeOf('OPERATION_NOT_ATTEMPTED') };
  for (const answers of [
    [unknown('orders'), notAttempted],
    [notAttempted, unknown('orders')],
  ]) {
    const answer = addPartitionsError(answers);
    assert.equal(answer?.name, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(answer?.action, RETRY);
    assert.deepEqual(answer?.topics, ['orders']);
  }
  assert.deepEqual(addPartitionsError([unknown('b'), unknown('a'), unknown('b')])?.topics, ['a', 'b']);
});

test('the answer is found in the errors kafkajs throws, including codes past its table', () => {
  assert.equal(coordinatorErrorOf(createErrorFromCode(53))?.name, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
  assert.equal(coordinatorErrorOf(createErrorFromCode(16))?.name, 'NOT_COORDINATOR');
  // kafkajs names code 90 "Unknown error code 90" (code -99): it is still PRODUCER_FENCED.
  assert.equal(coordinatorErrorOf(createErrorFromCode(90))?.action, RESTORE);
  assert.equal(coordinatorErrorOf(createErrorFromCode(120))?.name, 'TRANSACTION_ABORTABLE');
  assert.equal(coordinatorErrorOf(new Error('connection closed')), undefined);
});

test('every refusal that halts says what to do: the ACL and its prefix, the topics, the timeout', () => {
  const context = { transactionalId: 'kafka-mirror.us-asia/orders.eu/7', timeoutMs: 1_200_000 };
  for (const error of table) {
    const answer = classifyCoordinatorError(error.code, error.name);
    if (answer.action === HALT) assert.match(coordinatorRemedy(answer, context), /restart/, error.name);
  }
  const remedy = (name: string) => coordinatorRemedy(classifyCoordinatorError(codeOf(name)), context);
  assert.match(
    remedy('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'),
    /WRITE and DESCRIBE on TransactionalId with the prefix "kafka-mirror\.us-asia\/" \(pattern type PREFIXED/,
  );
  assert.match(
    remedy('INVALID_TRANSACTION_TIMEOUT'),
    /transaction\.timeoutMs \(1200000\).*transaction\.max\.timeout\.ms/,
  );
  assert.match(remedy('CLUSTER_AUTHORIZATION_FAILED'), /IDEMPOTENT_WRITE/);
  const topics = addPartitionsError([
    { topic: 'kafka-mirror.positions.us-asia', code: codeOf('TOPIC_AUTHORIZATION_FAILED') },
  ]);
  assert.ok(topics !== undefined);
  assert.match(
    coordinatorRemedy(topics, context),
    /grant it WRITE and DESCRIBE on kafka-mirror\.positions\.us-asia/,
  );
});
