import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ShutdownTimeoutError, WriteRejectedError } from '../../../src/errors/index.ts';
import { kafkajs } from '../../../src/kafka/kafkajs/index.ts';
import { errorCode } from '../../../src/observability/metrics.ts';

const {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSOffsetOutOfRange,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} = kafkajs;

/** A protocol error as kafkajs builds it from a response's error code (protocol/error.js). */
function protocolError(type: string, code: number, message = `Kafka error ${type}`) {
  return new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable: true }));
}

test('a Kafka protocol error is its Kafka error name', () => {
  assert.equal(errorCode(protocolError('NOT_LEADER_OR_FOLLOWER', 6)), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(errorCode(protocolError('MESSAGE_TOO_LARGE', 10)), 'MESSAGE_TOO_LARGE');
  // A plain object of the same shape (what a cause chain may hold) is read the same way.
  assert.equal(
    errorCode({ name: 'KafkaJSProtocolError', type: 'NOT_LEADER_OR_FOLLOWER', message: 'm' }),
    'NOT_LEADER_OR_FOLLOWER',
  );
});

test('the innermost protocol error of a cause chain wins (kafkajs wraps retried errors)', () => {
  const inner = protocolError('NOT_LEADER_OR_FOLLOWER', 6);
  const exhausted = new KafkaJSNumberOfRetriesExceeded(inner, { retryCount: 5, retryTime: 3000 });
  assert.equal(exhausted.name, 'KafkaJSNumberOfRetriesExceeded');
  assert.equal(errorCode(exhausted), 'NOT_LEADER_OR_FOLLOWER');
  // As kafkajs' retrier rejects: `new KafkaJSNonRetriableError(e, { cause: e.cause || e })`
  // (its type declarations omit the options).
  const nonRetriable = Object.assign(new KafkaJSNonRetriableError(exhausted), { cause: exhausted });
  assert.equal(errorCode(nonRetriable), 'NOT_LEADER_OR_FOLLOWER');
  const generic = new Error('send failed', { cause: new Error('wrapped', { cause: inner }) });
  assert.equal(errorCode(generic), 'NOT_LEADER_OR_FOLLOWER');
  const rejected = new WriteRejectedError(
    'orders',
    3,
    'MESSAGE_TOO_LARGE',
    protocolError('MESSAGE_TOO_LARGE', 10),
  );
  assert.equal(errorCode(rejected), 'MESSAGE_TOO_LARGE');
});

test('a network error is the client error class, also when wrapped', () => {
  const connection = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 10.0.0.1:9092', {
    broker: '10.0.0.1:9092',
    code: 'ECONNREFUSED',
  });
  assert.equal(errorCode(connection), 'KafkaJSConnectionError', 'its errno code is not a KM_ code');
  assert.equal(
    errorCode(new KafkaJSNumberOfRetriesExceeded(connection, { retryCount: 5, retryTime: 3000 })),
    'KafkaJSConnectionError',
  );
  const timeout = new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out', {
    broker: 'b:9092',
    clientId: 'kafka-mirror',
    correlationId: 1,
    createdAt: 0,
    sentAt: 0,
    pendingDuration: 0,
  });
  assert.equal(errorCode(timeout), 'KafkaJSRequestTimeoutError');
  assert.equal(errorCode(new KafkaJSError('x')), 'KafkaJSError');
});

test('a protocol error without a type falls back to its name', () => {
  assert.equal(errorCode({ name: 'KafkaJSProtocolError', message: 'x' }), 'KafkaJSProtocolError');
});

test('a KafkaMirrorError without a cause is its KM_ code', () => {
  assert.equal(errorCode(new ShutdownTimeoutError(1000)), 'KM_SHUTDOWN_TIMEOUT');
  assert.equal(errorCode(new ConfigError('x.yaml', ['clusters: required'])), 'KM_CONFIG');
  assert.equal(errorCode({ name: 'Whatever', code: 'KM_CONFIG' }), 'KM_CONFIG');
});

test('only KM_ codes are taken from `code`; other errors are their name', () => {
  assert.equal(errorCode(new TypeError('x is not a function')), 'TypeError');
  assert.equal(errorCode(Object.assign(new Error('boom'), { code: 'ERR_SOMETHING' })), 'Error');
  assert.equal(errorCode(Object.assign(new Error('boom'), { code: 'EADDRINUSE' })), 'Error');
});

test('non-errors are unknown', () => {
  for (const value of [undefined, null, 'NOT_LEADER_OR_FOLLOWER', 42, {}, { name: 7 }, []]) {
    assert.equal(errorCode(value), 'unknown', String(JSON.stringify(value)));
  }
});

test('the message never becomes the code', () => {
  const secret = 'SASL authentication failed for user alice with password hunter2';
  for (const error of [
    new Error(secret),
    new KafkaJSError(secret),
    new KafkaJSNumberOfRetriesExceeded(new Error(secret), { retryCount: 1, retryTime: 1 }),
    new KafkaJSProtocolError(secret),
    { message: secret },
  ]) {
    const code = errorCode(error);
    assert.ok(!code.includes('hunter2') && !code.includes(' '), `"${code}" leaks the message`);
  }
});

test('a cyclic cause chain terminates', { timeout: 1000 }, () => {
  const a = new Error('a') as Error & { cause?: unknown };
  const b = new KafkaJSProtocolError(
    Object.assign(new Error('b'), { type: 'UNKNOWN_SERVER_ERROR', code: -1 }),
  );
  (b as { cause?: unknown }).cause = a;
  a.cause = b;
  assert.ok(['Error', 'UNKNOWN_SERVER_ERROR'].includes(errorCode(a)));
  const self = new Error('self') as Error & { cause?: unknown };
  self.cause = self;
  assert.equal(errorCode(self), 'Error');
});

// docs/metrics.md: `code` is "Kafka's error name" for a protocol error. kafkajs throws two
// subclasses of KafkaJSProtocolError with their own class name (KafkaJSOffsetOutOfRange from
// fetch, KafkaJSMemberIdRequired from JoinGroup); errorCode() matches the name exactly, so they
// are counted under the class name instead of OFFSET_OUT_OF_RANGE / MEMBER_ID_REQUIRED.
test('a subclass of KafkaJSProtocolError is its Kafka error name too', () => {
  const outOfRange = new KafkaJSOffsetOutOfRange(
    Object.assign(new Error('The requested offset is not within the range of offsets'), {
      type: 'OFFSET_OUT_OF_RANGE',
      code: 1,
    }),
    { topic: 'orders', partition: 0 },
  );
  assert.equal(errorCode(outOfRange), 'OFFSET_OUT_OF_RANGE');
});
