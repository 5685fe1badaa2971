// Fetch limits per consumer group (src/kafka/kafkajs/group-fetch-limits.ts).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';

const require = createRequire(import.meta.url);

test('a consumer group reads its fetch limits from setGroupFetchLimits while it runs', async () => {
  const { setGroupFetchLimits } = await import('../../../../src/kafka/kafkajs/index.ts');
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as new (o: object) => {
    maxBytes: number;
    maxBytesPerPartition: number;
  };
  const logger = { namespace: () => logger };
  const make = (groupId: string) =>
    new ConsumerGroup({ groupId, logger, maxBytes: 1000, maxBytesPerPartition: 100, retry: {}, topics: [] });
  const group = make('g1');
  const other = make('g2');
  assert.deepEqual(
    [group.maxBytes, group.maxBytesPerPartition],
    [1000, 100],
    'its options, until limits are set',
  );
  setGroupFetchLimits('g1', { maxBytes: 50, maxBytesPerPartition: 5 });
  assert.deepEqual([group.maxBytes, group.maxBytesPerPartition], [50, 5]);
  assert.deepEqual([other.maxBytes, other.maxBytesPerPartition], [1000, 100], 'other groups keep theirs');
  setGroupFetchLimits('g1', undefined);
  assert.deepEqual([group.maxBytes, group.maxBytesPerPartition], [1000, 100]);
});
