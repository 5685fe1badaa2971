// The one classification of produce answers (src/kafka/writers/produce-errors.ts) against Kafka's own error
// table: every code of Errors.java, retriable exactly when its exception class is a
// RetriableException (the fixture is read from apache/kafka's sources), and what each writer does
// with every answer a produce request can get, as the Java producer's Sender and TransactionManager do.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';
import {
  classifyProduceError,
  ProduceAction,
  produceErrorOf,
  type ProduceAction as Action,
} from '../../../../src/kafka/writers/produce-errors.ts';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error;
};
type ErrorClass = new (error: unknown, options?: object) => Error;
const { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } =
  require('kafkajs/src/errors') as {
    KafkaJSNonRetriableError: ErrorClass;
    KafkaJSNumberOfRetriesExceeded: ErrorClass;
    KafkaJSConnectionError: ErrorClass;
  };

interface KafkaError {
  code: number;
  name: string;
  exception: string;
  retriable: boolean;
  staleMetadata: boolean;
}
const table = (
  JSON.parse(
    readFileSync(new URL('../../../support/fixtures/kafka-errors.json', import.meta.url), 'utf8'),
  ) as {
    errors: KafkaError[];
  }
).errors;

const { DONE, RETRY, SPLIT, RESEQUENCE, ABORT, HALT } = ProduceAction;

/**
 * Every answer a produce request can get (ProduceResponse's list, the broker's append path and the
 * codes the Java producer handles itself), with the action of an idempotent writer and of a
 * transactional one.
 */
const PRODUCE_ANSWERS: Record<string, [idempotent: Action, transactional: Action]> = {
  UNKNOWN_SERVER_ERROR: [HALT, HALT], // not retriable in Kafka: the Java producer fails the batch
  CORRUPT_MESSAGE: [RETRY, RETRY], // a RetriableException: it used to halt
  UNKNOWN_TOPIC_OR_PARTITION: [RETRY, RETRY],
  LEADER_NOT_AVAILABLE: [RETRY, RETRY],
  NOT_LEADER_OR_FOLLOWER: [RETRY, RETRY],
  REQUEST_TIMED_OUT: [RETRY, RETRY],
  BROKER_NOT_AVAILABLE: [HALT, HALT],
  REPLICA_NOT_AVAILABLE: [RETRY, RETRY],
  MESSAGE_TOO_LARGE: [SPLIT, SPLIT], // Sender.completeBatch splits
  NETWORK_EXCEPTION: [RETRY, RETRY],
  INVALID_TOPIC_EXCEPTION: [HALT, HALT],
  RECORD_LIST_TOO_LARGE: [SPLIT, SPLIT],
  NOT_ENOUGH_REPLICAS: [RETRY, RETRY],
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: [RETRY, RETRY],
  INVALID_REQUIRED_ACKS: [HALT, HALT],
  TOPIC_AUTHORIZATION_FAILED: [HALT, HALT],
  CLUSTER_AUTHORIZATION_FAILED: [HALT, HALT],
  INVALID_TIMESTAMP: [HALT, HALT], // retried for ever before
  UNSUPPORTED_VERSION: [HALT, HALT],
  INVALID_REQUEST: [HALT, HALT],
  UNSUPPORTED_FOR_MESSAGE_FORMAT: [HALT, HALT],
  POLICY_VIOLATION: [HALT, HALT],
  OUT_OF_ORDER_SEQUENCE_NUMBER: [RESEQUENCE, ABORT],
  DUPLICATE_SEQUENCE_NUMBER: [DONE, DONE],
  INVALID_PRODUCER_EPOCH: [RESEQUENCE, ABORT],
  INVALID_TXN_STATE: [HALT, ABORT],
  INVALID_PRODUCER_ID_MAPPING: [RESEQUENCE, ABORT],
  CONCURRENT_TRANSACTIONS: [RETRY, RETRY],
  TRANSACTION_COORDINATOR_FENCED: [HALT, ABORT],
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: [HALT, HALT],
  KAFKA_STORAGE_ERROR: [RETRY, RETRY],
  UNKNOWN_PRODUCER_ID: [RESEQUENCE, ABORT],
  FENCED_LEADER_EPOCH: [RETRY, RETRY],
  UNSUPPORTED_COMPRESSION_TYPE: [HALT, HALT], // retried for ever before
  INVALID_RECORD: [HALT, HALT], // retried for ever before
  PRODUCER_FENCED: [HALT, ABORT],
  TRANSACTION_ABORTABLE: [HALT, ABORT],
};

const codeOf = (name: string) => {
  const entry = table.find((e) => e.name === name);
  assert.ok(entry !== undefined, `${name} is in Kafka's table`);
  return entry.code;
};

test("every Kafka error code is retriable exactly when Kafka's exception class is a RetriableException", () => {
  assert.ok(table.length > 120, 'the whole table');
  for (const error of table) {
    const answer = classifyProduceError(error.code, { name: error.name });
    assert.equal(answer.retriable, error.retriable, `${error.name} (${error.exception})`);
    assert.equal(answer.staleMetadata, error.staleMetadata, `${error.name}: metadata refresh`);
    assert.equal(answer.name, error.name);
  }
});

test('a code outside the produce answers is retried when Kafka retries it and halts otherwise', () => {
  for (const error of table.filter((e) => !(e.name in PRODUCE_ANSWERS))) {
    for (const transactional of [false, true]) {
      assert.equal(
        classifyProduceError(error.code, { transactional }).action,
        error.retriable ? RETRY : HALT,
        error.name,
      );
    }
  }
  // Unknown to Kafka's table (a newer broker): Errors.forCode makes it UNKNOWN_SERVER_ERROR, not retriable.
  assert.equal(classifyProduceError(9999).action, HALT);
});

test('every answer a produce can get has the action of the Java producer, named as Kafka names it', () => {
  for (const [name, [idempotent, transactional]] of Object.entries(PRODUCE_ANSWERS)) {
    const code = codeOf(name);
    assert.equal(classifyProduceError(code).name, name, `${code} is named without help`);
    assert.equal(classifyProduceError(code).action, idempotent, `${name}, idempotent`);
    assert.equal(
      classifyProduceError(code, { transactional: true }).action,
      transactional,
      `${name}, transactional`,
    );
  }
});

test('every refusal that halts says what the operator does, specifically for those a produce gets', () => {
  for (const error of table) {
    const answer = classifyProduceError(error.code, { name: error.name });
    if (answer.action === HALT || answer.action === SPLIT)
      assert.match(String(answer.remedy), /restart/, error.name);
    else assert.equal(answer.remedy, undefined, error.name);
  }
  // Answers a healthy target does not give kafka-mirror's requests (or only to transactional
  // ones, which abort instead): the general advice is enough.
  const unexpected = new Set([
    'BROKER_NOT_AVAILABLE',
    'INVALID_REQUEST',
    'UNSUPPORTED_VERSION',
    'POLICY_VIOLATION',
    'INVALID_REQUIRED_ACKS',
    'INVALID_TXN_STATE',
    'TRANSACTION_COORDINATOR_FENCED',
    'PRODUCER_FENCED',
    'TRANSACTION_ABORTABLE',
  ]);
  const generic = classifyProduceError(-42).remedy;
  for (const [name, [action]] of Object.entries(PRODUCE_ANSWERS)) {
    if ((action !== HALT && action !== SPLIT) || unexpected.has(name)) continue;
    assert.notEqual(classifyProduceError(codeOf(name)).remedy, generic, `${name} has its own remedy`);
  }
  assert.match(
    String(classifyProduceError(codeOf('INVALID_TIMESTAMP')).remedy),
    /message\.timestamp\.before\.max\.ms/,
  );
});

test('the answer is found in the errors kafkajs throws, wrapped or not', () => {
  const timestamp = createErrorFromCode(32);
  assert.equal(produceErrorOf(timestamp)?.name, 'INVALID_TIMESTAMP');
  // As kafkajs's retrier wraps them (retry/index.js).
  assert.equal(produceErrorOf(new KafkaJSNonRetriableError(timestamp, { cause: timestamp }))?.action, HALT);
  const leader = new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(6), { retryCount: 0, retryTime: 0 });
  assert.equal(produceErrorOf(leader)?.name, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(produceErrorOf(leader)?.action, RETRY);
  assert.equal(produceErrorOf(createErrorFromCode(47), { transactional: true })?.action, ABORT);
  // No answer: a connection error or a timeout is retried by the writers without a classification.
  assert.equal(produceErrorOf(new KafkaJSConnectionError('closed')), undefined);
  assert.equal(produceErrorOf(new Error('no leader')), undefined);
  // A code kafkajs does not know (its table ends at 88) reaches us as its placeholder, code -99,
  // with the real code only in the message: it is read from there, so PRODUCER_FENCED (90) and
  // TRANSACTION_ABORTABLE (120) abort a transaction instead of halting as an unknown error.
  assert.equal(createErrorFromCode(90)['code' as keyof Error], -99, "kafkajs's placeholder");
  assert.equal(produceErrorOf(createErrorFromCode(90), { transactional: true })?.name, 'PRODUCER_FENCED');
  assert.equal(produceErrorOf(createErrorFromCode(90), { transactional: true })?.action, ABORT);
  assert.equal(produceErrorOf(createErrorFromCode(120), { transactional: true })?.action, ABORT);
  assert.equal(produceErrorOf(createErrorFromCode(100))?.action, RETRY, 'UNKNOWN_TOPIC_ID is retriable');
  const unknown = produceErrorOf(createErrorFromCode(9999));
  assert.equal(unknown?.code, 9999);
  assert.equal(unknown?.name, 'ERROR_CODE_9999');
  assert.equal(unknown?.action, HALT, 'not retriable, as in Kafka');
});
