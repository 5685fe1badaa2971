// The heartbeat topic at start (src/kafka/heartbeat.ts, through src/kafka/topic-admin.ts): created
// when missing; another instance creating it first is no failure, told by Kafka's error type
// (TOPIC_ALREADY_EXISTS), never by the message; any other refusal fails the start.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { HEARTBEAT_TOPIC, HeartbeatEmitter } from '../../../src/kafka/heartbeat.ts';
import { TopicAdmin } from '../../../src/kafka/topic-admin.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const require = createRequire(import.meta.url);
const errors = require('kafkajs/src/errors.js') as Record<string, new (...args: never[]) => Error>;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};

/** What kafkajs's admin.createTopics rejects with when Kafka refuses the topic with `code`. */
const refusal = (code: number) =>
  new errors['KafkaJSAggregateError']!(
    'Topic creation errors' as never,
    [
      new errors['KafkaJSCreateTopicError']!(createErrorFromCode(code) as never, HEARTBEAT_TOPIC as never),
    ] as never,
  );

/** An emitter whose admin refuses the topic with `error`; what its producer sent. */
function emitter(error: unknown) {
  const sent: unknown[] = [];
  const producer = { connect: async () => {}, send: async (r: unknown) => void sent.push(r) };
  // The real TopicAdmin over a kafkajs admin whose createTopics refuses with `error`: the
  // heartbeat relies on its answer ('exists'), not on a check of its own.
  const kafkajsAdmin = {
    createTopics: async () => Promise.reject(error),
    fetchTopicMetadata: async () => ({ topics: [{ partitions: [{ leader: 1 }] }] }),
  };
  const kafka = { producer: () => producer, admin: () => kafkajsAdmin } as unknown as KafkaClient;
  const admin = new TopicAdmin(kafka);
  admin.partitionCounts = async () => new Map<string, number>();
  // The timer is unref'd and an hour long: only the first beat, at start, is sent here.
  const heartbeat = new HeartbeatEmitter(kafka, admin, {
    flow: 'f',
    intervalMs: 3_600_000,
    logger: createLogger({ level: 'silent' }),
    onSent: () => {},
    onError: () => {},
  });
  return { heartbeat, sent };
}

test('a heartbeat topic another instance created first is no failure: the first beat is sent', async () => {
  const { heartbeat, sent } = emitter(refusal(36)); // TOPIC_ALREADY_EXISTS
  await heartbeat.start();
  assert.equal(sent.length, 1);
});

test('any other refusal of the heartbeat topic fails the start, whatever its message says', async () => {
  const denied = refusal(29); // TOPIC_AUTHORIZATION_FAILED
  await assert.rejects(emitter(denied).heartbeat.start(), (error) => error === denied);
  const lookalike = new Error('Topic with this name already exists');
  await assert.rejects(emitter(lookalike).heartbeat.start(), (error) => error === lookalike);
});
