// The patched message grouping (src/kafka/kafkajs/group-messages.ts) must not change what kafkajs computes.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';

const require = createRequire(import.meta.url);

test('messages are grouped per partition in send order, as kafkajs does', () => {
  const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (init: object) => object;
  const messages = [
    { partition: 2, value: 'a' },
    { partition: 0, value: 'b' },
    { partition: 2, value: 'c' },
    { partition: 2, value: 'd' },
  ];
  const partitioner = ({ message }: { message: { partition: number } }) => message.partition;
  assert.deepEqual(group({ topic: 't', partitionMetadata: [{}, {}, {}], messages, partitioner }), {
    0: [messages[1]],
    2: [messages[0], messages[2], messages[3]],
  });
  assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner }), {});
});
