// kafkajs's logs through pino (src/kafka/client.ts): quiet about what asks nothing of the operator
// (issue 20). kafkajs logs each connection failure of its retries with a stack trace, its
// partitioner notice on the first producer of a process, and its lifecycle at info; the daemon says
// what matters itself, once per cluster and retry, with the cause.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createClient, isTopicAlreadyExists, kafkajsLogCreator } from '../../../src/kafka/client.ts';
import { logLevel } from '../../../src/kafka/kafkajs/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const require = createRequire(import.meta.url);
const errors = require('kafkajs/src/errors.js') as Record<string, new (...args: never[]) => Error>;

function capture(level = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level, destination: stream }) };
}

const entry = (namespace: string, level: number, message: string, extra: object = {}) => ({
  namespace,
  level,
  label: '',
  log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra },
});

test("kafkajs's connection errors during its retries go to debug, with their stack only there", () => {
  const { lines, logger } = capture();
  const log = kafkajsLogCreator(logger)(logLevel.INFO);
  const stack = 'Error: connect ECONNREFUSED 127.0.0.1:1\n    at TCPConnectWrap.afterConnect';
  log(entry('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:1', { stack }));
  log(entry('BrokerPool', logLevel.ERROR, 'Failed to connect to seed broker, trying another broker'));
  log(entry('Connection', logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', { error: 'x' }));
  log(entry('RequestQueue', logLevel.WARN, 'Response without match'));
  assert.deepEqual(
    lines.map((l) => l['level']),
    [20, 20, 20, 20],
  );
  assert.equal(lines[0]?.['stack'], stack);
});

test("kafkajs's lifecycle notes go to debug; its other errors are warnings without a stack", () => {
  const { lines, logger } = capture();
  const log = kafkajsLogCreator(logger)(logLevel.INFO);
  log(entry('ConsumerGroup', logLevel.INFO, 'Consumer has joined the group', { groupId: 'g' }));
  log(entry('Consumer', logLevel.INFO, 'Starting', { groupId: 'g' }));
  log(
    entry('Consumer', logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: x', {
      stack: 'Error: x\n at y',
    }),
  );
  assert.deepEqual(
    lines.map((l) => [l['level'], l['msg']]),
    [
      [20, 'Consumer has joined the group'],
      [20, 'Starting'],
      [40, 'Crash: KafkaJSNumberOfRetriesExceeded: x'],
    ],
  );
  assert.equal(lines[2]?.['stack'], undefined, 'no stack trace at warn');
});

test('a producer of our clients raises no partitioner notice (every write names its partition)', async () => {
  const { lines, logger } = capture();
  const client = createClient(
    {
      alias: 'x',
      bootstrapServers: ['127.0.0.1:1'],
      clientId: 'c',
      connectionTimeoutMs: 100,
      tls: { enabled: false },
      sasl: undefined,
    },
    logger,
  );
  client.producer();
  client.producer({ idempotent: false });
  assert.deepEqual(
    lines.filter((l) => /partitioner/i.test(String(l['msg']))),
    [],
  );
});

/** The error kafkajs's CreateTopics response gives for these topics' error codes. */
async function createTopicsRefusal(codes: Record<string, number>): Promise<unknown> {
  const response = require('kafkajs/src/protocol/requests/createTopics/v0/response.js') as {
    parse(data: { topicErrors: Array<{ topic: string; errorCode: number }> }): Promise<unknown>;
  };
  const topicErrors = Object.entries(codes).map(([topic, errorCode]) => ({ topic, errorCode }));
  return await response.parse({ topicErrors }).then(
    () => assert.fail('kafkajs accepted the response'),
    (error: unknown) => error,
  );
}

test("a topic that exists is told by Kafka's error type (TOPIC_ALREADY_EXISTS), never by the message", async () => {
  const TOPIC_ALREADY_EXISTS = 36;
  const TOPIC_AUTHORIZATION_FAILED = 29;
  const exists = await createTopicsRefusal({ beats: TOPIC_ALREADY_EXISTS });
  assert.equal((exists as Error).name, 'KafkaJSAggregateError');
  assert.equal(isTopicAlreadyExists(exists), true);
  const [created] = (exists as { errors: Error[] }).errors;
  assert.equal(isTopicAlreadyExists(created), true, 'one topic error');
  const wrapped = new errors['KafkaJSNonRetriableError']!(created as never, { cause: created } as never);
  assert.equal(isTopicAlreadyExists(wrapped), true, 'under a retry wrapper');
  const denied = await createTopicsRefusal({
    beats: TOPIC_ALREADY_EXISTS,
    other: TOPIC_AUTHORIZATION_FAILED,
  });
  assert.equal(isTopicAlreadyExists(denied), false, 'another topic was refused');
  assert.equal(isTopicAlreadyExists(await createTopicsRefusal({ beats: TOPIC_AUTHORIZATION_FAILED })), false);
  assert.equal(
    isTopicAlreadyExists(new Error('Topic with this name already exists')),
    false,
    'text decides nothing',
  );
  assert.equal(isTopicAlreadyExists(undefined), false);
});
