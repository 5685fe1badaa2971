// The topic admin's answer to creating a topic that exists: `exists` (no failure), decided on what
// kafkajs resolves or on the protocol error's type, never on its message (topic sync treats it as
// success: another instance created the topic first). On a real broker: test/integration/topics.test.ts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { kafkajs } from '../../../src/kafka/kafkajs/index.ts';
import { isTopicAlreadyExists as alreadyExists } from '../../../src/kafka/client.ts';
import { TopicAdmin } from '../../../src/kafka/topic-admin.ts';

const require = createRequire(import.meta.url);
/** kafkajs's own parser of a CreateTopics response (v0 to v3 share it): it throws what a broker's answer becomes. */
const { parse } = require('kafkajs/src/protocol/requests/createTopics/v0/response') as {
  parse(data: { topicErrors: Array<{ topic: string; errorCode: number }> }): Promise<unknown>;
};

/** What kafkajs throws for a CreateTopics answer with these error codes (36: TOPIC_ALREADY_EXISTS). */
async function answer(...topicErrors: Array<{ topic: string; errorCode: number }>): Promise<unknown> {
  try {
    await parse({ topicErrors });
  } catch (error) {
    return error;
  }
  assert.fail('kafkajs accepted the answer');
}

/** A TopicAdmin over an admin whose createTopics does `create`, and whose topics all have leaders. */
function adminWith(create: () => Promise<boolean>) {
  const calls: string[] = [];
  const admin = {
    createTopics: async ({ topics }: { topics: Array<{ topic: string }> }) => {
      calls.push(...topics.map((t) => t.topic));
      return create();
    },
    fetchTopicMetadata: async () => ({ topics: [{ partitions: [{ leader: 1 }, { leader: 2 }] }] }),
  } as unknown as Admin;
  return { topicAdmin: new TopicAdmin({ admin: () => admin } as unknown as KafkaClient), calls };
}

test('createTopic says created when kafkajs created the topic, exists when Kafka answered TOPIC_ALREADY_EXISTS', async () => {
  const created = adminWith(async () => true);
  assert.equal(await created.topicAdmin.createTopic('orders', 2, 1, {}), 'created');
  assert.deepEqual(created.calls, ['orders']);
  // kafkajs 2.2.4 resolves false when every topic of the request already exists.
  const existing = adminWith(async () => false);
  assert.equal(await existing.topicAdmin.createTopic('orders', 2, 1, {}), 'exists');
});

test('createTopic says exists for a TOPIC_ALREADY_EXISTS kafkajs rejects with, and rejects with any other refusal', async () => {
  const exists = await answer({ topic: 'orders', errorCode: 36 });
  assert.equal(
    await adminWith(() => Promise.reject(exists)).topicAdmin.createTopic('orders', 2, 1, {}),
    'exists',
  );
  // POLICY_VIOLATION (44): a refusal, whatever its message says.
  const refused = await answer({ topic: 'orders', errorCode: 44 });
  await assert.rejects(
    adminWith(() => Promise.reject(refused)).topicAdmin.createTopic('orders', 2, 1, {}),
    (e) => e === refused,
  );
});

test('isTopicAlreadyExists (what TopicAdmin.createTopic decides by) decides on the protocol error type: every topic of the answer, alone or wrapped, not the message', async () => {
  assert.equal(alreadyExists(await answer({ topic: 'a', errorCode: 36 })), true);
  assert.equal(
    alreadyExists(await answer({ topic: 'a', errorCode: 36 }, { topic: 'b', errorCode: 36 })),
    true,
  );
  // One topic exists, the other was refused: a failure.
  assert.equal(
    alreadyExists(await answer({ topic: 'a', errorCode: 36 }, { topic: 'b', errorCode: 37 })),
    false,
  );
  // The per-topic error alone, and wrapped by kafkajs's retrier (its cause).
  const single = ((await answer({ topic: 'a', errorCode: 36 })) as { errors: unknown[] }).errors[0];
  assert.equal(alreadyExists(single), true);
  const { KafkaJSNumberOfRetriesExceeded } = kafkajs;
  assert.equal(
    alreadyExists(new KafkaJSNumberOfRetriesExceeded(single as Error, { retryCount: 5, retryTime: 100 })),
    true,
  );
  // A message that says so is not enough.
  assert.equal(alreadyExists(new Error('Topic with this name already exists')), false);
  assert.equal(alreadyExists(undefined), false);
});
