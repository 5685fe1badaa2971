// kafkajs's Broker.fetch with the patched shuffle and fetch order (src/kafka/kafkajs/broker-fetch.ts).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';

const require = createRequire(import.meta.url);

const flat = (topics: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number }> }>) =>
  topics.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p.partition}`));
const request = (spec: Record<string, number[]>) =>
  Object.entries(spec).map(([topic, partitions]) => ({
    topic,
    partitions: partitions.map((partition) => ({ partition })),
  }));

test("kafkajs's Broker.fetch asks for partitions in the fetch order, not shuffled, and rotates what it served", async () => {
  const Broker = require('kafkajs/src/broker/index.js') as new (options: object) => {
    lookupRequest: unknown;
    fetch(request: object): Promise<unknown>;
  };
  const requests: string[][] = [];
  let withData = new Set<string>();
  const logger = { namespace: () => logger };
  const broker = new Broker({
    logger,
    connectionPool: {
      connectionTimeout: 1000,
      host: '127.0.0.1',
      port: 9,
      // The fetch request as built, answered with data for the partitions in `withData`.
      send: async (built: { topics: Array<{ topic: string; partitions: Array<{ partition: number }> }> }) => {
        requests.push(flat(built.topics));
        return {
          responses: built.topics.map(({ topic, partitions }) => ({
            topicName: topic,
            partitions: partitions.map(({ partition }) => ({
              partition,
              messages: withData.has(`${topic}-${partition}`) ? [{ offset: '0' }] : [],
            })),
          })),
        };
      },
    },
  });
  broker.lookupRequest = () => (args: object) => args;
  const asked = request({ a: [0, 1, 2, 3, 4, 5], b: [0, 1, 2, 3] });
  const fetch = () => broker.fetch({ maxWaitTime: 0, minBytes: 1, maxBytes: 1000, topics: asked });
  for (let round = 0; round < 10; round++) {
    withData = new Set(['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'b-0', 'b-1', 'b-2', 'b-3']);
    await fetch();
    assert.deepEqual(
      requests.at(-1),
      flat(asked),
      `round ${round}: in the order asked, every partition served`,
    );
  }
  withData = new Set(['a-0', 'b-1']);
  await fetch();
  await fetch();
  assert.deepEqual(requests.at(-1), ['a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'b-0', 'b-2', 'b-3', 'a-0', 'b-1']);
});
